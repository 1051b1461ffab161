"""Which HTTP requests are LLM calls: rules on host and path, confirmed by the JSON body."""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from collections.abc import Mapping
from typing import Any

from ai_incidents.capture.wire import (
    ANTHROPIC_MESSAGES,
    OPENAI_CHAT,
    OPENAI_COMPLETIONS,
    OPENAI_EMBEDDINGS,
    OPENAI_RESPONSES,
    WIRE_FORMATS,
    WireFormat,
)

_AZURE_DEPLOYMENT = re.compile(r"/openai/deployments/([^/]+)/")

# Hosts whose provider name differs from the wire format's (GenAI `gen_ai.provider.name` values).
_PROVIDER_BY_HOST_SUFFIX = (
    ("api.openai.com", "openai"),
    ("api.anthropic.com", "anthropic"),
    (".openai.azure.com", "azure.ai.openai"),
    (".services.ai.azure.com", "azure.ai.inference"),
    ("api.groq.com", "groq"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.deepseek.com", "deepseek"),
    ("api.x.ai", "x_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("openrouter.ai", "openrouter"),
    ("api.together.xyz", "together_ai"),
)


@dataclasses.dataclass(frozen=True)
class EndpointRule:
    """Requests to a path ending in ``path_suffix`` (on ``host``, if set) speak ``wire_format``."""

    path_suffix: str
    wire_format: WireFormat
    host: str | None = None
    provider: str | None = None

    def matches(self, host: str, path: str) -> bool:
        if self.host is not None and host != self.host:
            return False
        return path.rstrip("/").endswith(self.path_suffix)


@dataclasses.dataclass(frozen=True)
class EndpointMatch:
    """A request recognised as an LLM call."""

    wire_format: WireFormat
    provider: str
    deployment: str | None = None


_DEFAULT_RULES = (
    EndpointRule("/chat/completions", OPENAI_CHAT),
    EndpointRule("/completions", OPENAI_COMPLETIONS),  # after chat, whose path ends the same
    EndpointRule("/responses", OPENAI_RESPONSES),
    EndpointRule("/embeddings", OPENAI_EMBEDDINGS),
    EndpointRule("/v1/messages", ANTHROPIC_MESSAGES),
)


class EndpointRegistry:
    """The endpoint rules in force: the user's first, then the built-in ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._user_rules: tuple[EndpointRule, ...] = ()

    def register(
        self,
        path_suffix: str,
        wire_format: str | WireFormat,
        *,
        host: str | None = None,
        provider: str | None = None,
    ) -> EndpointRule:
        """Recognise requests to ``path_suffix`` (on ``host``) as ``wire_format`` calls."""
        if isinstance(wire_format, str):
            try:
                wire_format = WIRE_FORMATS[wire_format]
            except KeyError:
                known = ", ".join(sorted(WIRE_FORMATS))
                raise ValueError(f"unknown wire format {wire_format!r}; known: {known}") from None
        if not path_suffix.startswith("/"):
            raise ValueError(f"path_suffix must start with '/': {path_suffix!r}")
        rule = EndpointRule(path_suffix.rstrip("/"), wire_format, host, provider)
        with self._lock:
            self._user_rules = (rule, *self._user_rules)
        return rule

    def clear(self) -> None:
        """Forget the user's rules."""
        with self._lock:
            self._user_rules = ()

    def match(self, host: str, path: str) -> EndpointRule | None:
        """The first rule for this host and path, without looking at the body."""
        for rule in (*self._user_rules, *_DEFAULT_RULES):
            if rule.matches(host, path):
                return rule
        return None

    def confirm(
        self, rule: EndpointRule, host: str, path: str, body: Mapping[str, Any] | None
    ) -> EndpointMatch | None:
        """The call, if the request body is that of the rule's wire format (or unreadable)."""
        if body is not None and not rule.wire_format.accepts(body):
            return None
        deployment = _AZURE_DEPLOYMENT.search(path)
        return EndpointMatch(
            wire_format=rule.wire_format,
            provider=rule.provider or provider_for_host(host, rule.wire_format),
            deployment=deployment.group(1) if deployment else None,
        )


@functools.lru_cache(maxsize=256)
def provider_for_host(host: str, wire_format: WireFormat) -> str:
    """The GenAI provider name of a well-known host, else the wire format's provider."""
    for suffix, provider in _PROVIDER_BY_HOST_SUFFIX:
        if host == suffix.lstrip(".") or host.endswith(suffix):
            return provider
    return wire_format.default_provider


endpoints = EndpointRegistry()
