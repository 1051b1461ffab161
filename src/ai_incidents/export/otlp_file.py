"""``OTLPJsonFileExporter``: spans as OTLP JSON lines, one ``{"resourceSpans": ...}`` per
export, as the collector's file exporter writes them (and its file receiver, or
``ai-incidents replay``, reads them)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class OTLPJsonFileExporter(SpanExporter):
    """Appends each batch to ``path`` as one line of OTLP JSON."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._endpoint = f"file://{os.path.abspath(self.path)}"
        """Where it sends, as the incident pipeline names destinations."""
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        line = json_format.MessageToJson(encode_spans(spans), indent=None)
        with self._lock:
            if self._file.closed:
                return SpanExportResult.FAILURE
            self._file.write(line + "\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
