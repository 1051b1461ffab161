"""The response body of one call as it streams through: decoded, then parsed as server-sent
events or as one JSON document, within the size limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_incidents.capture import _json, decoding
from ai_incidents.capture.interaction import Interaction
from ai_incidents.capture.sse import SSEDecoder
from ai_incidents.capture.wire import StreamAccumulator, WireFormat, provider_error_type

_SSE_FIELDS = (b"data", b"event", b"id", b"retry", b":")
_BOM = b"\xef\xbb\xbf"


class ResponseBody:
    """Fed the body's bytes as the app reads them; ``finish`` folds them into the interaction.

    Whether the body is a stream of events is decided by its first bytes (``{`` or ``[``
    open a JSON document, a field name an event), else by the ``content-type`` and by whether
    the request asked for a stream: servers and proxies leave the header out or get it wrong.
    """

    def __init__(
        self,
        interaction: Interaction,
        wire_format: WireFormat,
        limit: int,
        content_type: str,
        content_encoding: str,
    ) -> None:
        self.interaction = interaction
        self.limit = limit
        self.dropped_bytes = 0
        self.complete = False
        self.error: str | None = None
        """Why the body could not be read (a capture error), if it could not."""
        self.truncated = False
        """Only the first ``limit`` bytes of a stream were parsed: how it ended is not known."""
        self._wire_format = wire_format
        self._event_stream_header = "text/event-stream" in content_type
        self._decode = decoding.decoder(content_encoding)
        if self._decode is None:
            self.error = "unsupported_content_encoding"
        self._decided = False
        self._sse: SSEDecoder | None = None
        self._accumulator: StreamAccumulator | None = None
        self._buffer = bytearray()
        self._taken = 0

    @property
    def streamed(self) -> bool:
        """Whether the body is a stream of events (not one JSON document)."""
        return self._sse is not None

    def feed(self, chunk: bytes) -> None:
        if self.error is not None:
            return
        if self._decode is not None:
            chunk = self._decode(chunk)
        chunk = self._within_limit(chunk)
        if not chunk:
            return
        if self._sse is not None:
            self._parse_events(chunk)
            return
        self._buffer += chunk
        if not self._decided:
            self._decide()

    def _within_limit(self, chunk: bytes) -> bytes:
        """What of ``chunk`` is within the size limit; the rest is counted, not read."""
        room = self.limit - self._taken
        if len(chunk) > room:
            self.dropped_bytes += len(chunk) - max(room, 0)
            chunk = chunk[: max(room, 0)]
        self._taken += len(chunk)
        return chunk

    def _decide(self) -> None:
        """Once the first significant byte is in, become a stream of events or a document."""
        head = bytes(self._buffer).removeprefix(_BOM).lstrip()
        if not head or _BOM.startswith(self._buffer):
            return
        self._decided = True
        if head[:1] in b"{[" or not (
            self._event_stream_header or self.interaction.stream or head.startswith(_SSE_FIELDS)
        ):
            return
        self._sse = SSEDecoder(max_event_bytes=self.limit)
        self._accumulator = self._wire_format.stream_accumulator(self.interaction, self.limit)
        head, self._buffer = bytes(self._buffer), bytearray()
        self._parse_events(head)

    def _parse_events(self, chunk: bytes) -> None:
        assert self._sse is not None and self._accumulator is not None
        for event, data in self._sse.feed(chunk):
            self._accumulator.on_event(event, _json_or_text(data))

    def finish(self) -> None:
        """Fold what was received into the interaction."""
        if self.error is not None:
            return
        if self._accumulator is not None and self._sse is not None:
            self._accumulator.finish()
            self.complete = self.complete or self._accumulator.complete
            self.truncated = self.dropped_bytes > 0
            self.dropped_bytes += self._sse.dropped_bytes + self._accumulator.dropped_chars
            return
        if self.dropped_bytes:
            self.error = "response_body_too_large"
            return
        self._take_json(bytes(self._buffer))

    def _take_json(self, raw: bytes) -> None:
        """Parse a complete JSON response body (at most the size limit) into the interaction."""
        interaction = self.interaction
        status = interaction.http_status or 200
        if 300 <= status < 400:
            return  # a redirect's body is no answer
        failed = status >= 400
        try:
            body = _json.loads(raw)
        except ValueError:
            if not failed:
                self.error = "malformed_response_body"
            return
        if not isinstance(body, Mapping):
            self.error = "malformed_response_body"
            return
        if failed:
            interaction.error_type = provider_error_type(body)
            return
        self._wire_format.parse_response(body, interaction)


def _json_or_text(data: str) -> Any:
    try:
        return _json.loads(data)
    except ValueError:
        return data
