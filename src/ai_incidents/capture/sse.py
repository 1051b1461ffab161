"""An incremental, bounded decoder of server-sent events (the WHATWG ``text/event-stream``)."""

from __future__ import annotations

from collections.abc import Iterator

_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Turns chunks of bytes, cut anywhere, into ``(event, data)`` pairs.

    One byte-order mark at the start is skipped. Lines end with LF, CR LF or CR; ``data:``
    lines of one event are joined with LF; an event ends at a blank line. An event whose data
    would exceed ``max_event_bytes`` is skipped and its size counted in ``dropped_bytes``; an
    unterminated event at the end is discarded.

    >>> decoder = SSEDecoder()
    >>> list(decoder.feed(b'event: ping\\ndata: {"a"'))
    []
    >>> list(decoder.feed(b': 1}\\n\\n'))
    [('ping', '{"a": 1}')]
    """

    def __init__(self, max_event_bytes: int = 1024 * 1024) -> None:
        self.max_event_bytes = max_event_bytes
        self.dropped_bytes = 0
        self._pending = bytearray()
        self._event: str | None = None
        self._data: list[bytes] = []
        self._data_size = 0
        self._oversized = False
        self._after_cr = False
        self._skipping_line = False
        self._at_start = True

    def feed(self, chunk: bytes) -> Iterator[tuple[str | None, str]]:
        """Decode ``chunk``; yield each event it completes."""
        if not chunk:
            return
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._after_cr = False
        self._pending += chunk
        pending = self._pending
        if self._at_start:
            if _BOM.startswith(pending):
                return  # a byte-order mark, or the start of one, so far
            self._at_start = False
            if pending.startswith(_BOM):
                del pending[: len(_BOM)]
        start = 0
        while True:
            end = _line_end(pending, start)
            if end < 0:
                break
            line = bytes(pending[start:end])
            if pending[end] == 0x0D:
                if end + 1 < len(pending):
                    start = end + 2 if pending[end + 1] == 0x0A else end + 1
                else:
                    self._after_cr = True
                    start = end + 1
            else:
                start = end + 1
            if self._skipping_line:
                self._skipping_line = False
                self.dropped_bytes += len(line)
                continue
            event = self._take_line(line)
            if event is not None:
                yield event
        del pending[:start]
        if len(pending) > self.max_event_bytes:
            # An over-long line: drop what came so far, and the rest of it when it ends.
            self._oversized = self._skipping_line = True
            self.dropped_bytes += len(pending)
            pending.clear()

    def _take_line(self, line: bytes) -> tuple[str | None, str] | None:
        if not line:
            return self._dispatch()
        if line.startswith(b":"):
            return None
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data_size += len(value) + 1
            if self._data_size > self.max_event_bytes:
                self._oversized = True
            if not self._oversized:
                self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        return None

    def _dispatch(self) -> tuple[str | None, str] | None:
        event, data, oversized = self._event, self._data, self._oversized
        if oversized:
            self.dropped_bytes += self._data_size
        self._event, self._data, self._data_size, self._oversized = None, [], 0, False
        if oversized or not data:
            return None
        return event, b"\n".join(data).decode("utf-8", "replace")


def _line_end(buffer: bytearray, start: int) -> int:
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start, lf if lf >= 0 else len(buffer))
    return cr if cr >= 0 else lf
