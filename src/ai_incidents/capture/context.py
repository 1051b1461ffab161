"""Context the application adds to the LLM calls it makes: the feature a call serves, and
the end user or session it is made for."""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import baggage

from ai_incidents import semconv
from ai_incidents.capture.interaction import Retrieval
from ai_incidents.config import get_settings

_feature: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ai_incidents_feature", default=None
)
_retrieval: contextvars.ContextVar[Retrieval | None] = contextvars.ContextVar(
    "ai_incidents_retrieval", default=None
)
_end_user: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "ai_incidents_end_user", default=(None, None)
)
_BAGGAGE_USER_KEYS = (semconv.ENDUSER_ID, semconv.USER_ID)

F = TypeVar("F", bound=Callable[..., Any])


class feature:
    """Mark the LLM calls made inside as serving the product feature ``name``.

    ``user`` and ``session`` name who the calls are made for (``enduser.id``,
    ``session.id`` on the span): severity counts distinct users, and containment can act on
    one of them. A context manager and a decorator (of plain and async functions).
    Retrieved documents recorded inside stay inside: they are forgotten when the block ends.
    """

    def __init__(self, name: str, user: str | None = None, session: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a feature name is a non-empty string")
        self.name = name
        self.user = str(user) if user is not None else None
        self.session = str(session) if session is not None else None
        self._tokens: list[tuple[contextvars.Token, ...]] = []

    def __enter__(self) -> feature:
        tokens = (_feature.set(self.name), _retrieval.set(None))
        if self.user is not None or self.session is not None:
            tokens += (_end_user.set((self.user, self.session)),)
        self._tokens.append(tokens)
        return self

    def __exit__(self, *exc_info: object) -> None:
        feature_token, retrieval_token, *user_token = self._tokens.pop()
        if user_token:
            _end_user.reset(user_token[0])
        _retrieval.reset(retrieval_token)
        _feature.reset(feature_token)

    def __call__(self, func: F) -> F:
        name, user, session = self.name, self.user, self.session
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with feature(name, user, session):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with feature(name, user, session):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def current_feature() -> str | None:
    """The feature set by the innermost ``feature(...)``, if any."""
    return _feature.get()


def current_end_user() -> tuple[str | None, str | None]:
    """The end user and session of the calls made now: from ``feature(...)``, else from
    OpenTelemetry baggage (``enduser.id`` or ``user.id``, ``session.id``)."""
    user, session = _end_user.get()
    if user is None:
        user = next((str(v) for k in _BAGGAGE_USER_KEYS if (v := baggage.get_baggage(k))), None)
    if session is None:
        found = baggage.get_baggage(semconv.SESSION_ID)
        session = str(found) if found else None
    return user, session


def current_retrieval(max_age_s: float | None = None) -> Retrieval | None:
    """The last retrieval recorded in this context, for the LLM calls that follow; one
    older than ``max_age_s`` (default: the ``retrieval_ttl_s`` setting) is forgotten."""
    retrieval = _retrieval.get()
    if retrieval is None:
        return None
    limit = get_settings().retrieval_ttl_s if max_age_s is None else max_age_s
    return retrieval if time.time() - retrieval.performed_at <= limit else None


def set_current_retrieval(retrieval: Retrieval | None) -> None:
    _retrieval.set(retrieval)


@contextmanager
def no_retrieval() -> Iterator[None]:
    """Within the block, LLM calls see no earlier retrieval."""
    token = _retrieval.set(None)
    try:
        yield
    finally:
        _retrieval.reset(token)
