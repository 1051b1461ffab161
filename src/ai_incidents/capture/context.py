"""Context the application adds to the LLM calls it makes: the feature a call serves."""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ai_incidents.capture.interaction import Retrieval
from ai_incidents.config import get_settings

_feature: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ai_incidents_feature", default=None
)
_retrieval: contextvars.ContextVar[Retrieval | None] = contextvars.ContextVar(
    "ai_incidents_retrieval", default=None
)

F = TypeVar("F", bound=Callable[..., Any])


class feature:
    """Mark the LLM calls made inside as serving the product feature ``name``.

    A context manager and a decorator (of plain and async functions). Retrieved documents
    recorded inside stay inside: they are forgotten when the block ends.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a feature name is a non-empty string")
        self.name = name
        self._tokens: list[tuple[contextvars.Token, contextvars.Token]] = []

    def __enter__(self) -> feature:
        self._tokens.append((_feature.set(self.name), _retrieval.set(None)))
        return self

    def __exit__(self, *exc_info: object) -> None:
        feature_token, retrieval_token = self._tokens.pop()
        _retrieval.reset(retrieval_token)
        _feature.reset(feature_token)

    def __call__(self, func: F) -> F:
        name = self.name
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with feature(name):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with feature(name):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def current_feature() -> str | None:
    """The feature set by the innermost ``feature(...)``, if any."""
    return _feature.get()


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
