"""A local OTLP/HTTP receiver (protobuf) that keeps what it receives, for tests and demos."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from ai_incidents.testing._loopback import LoopbackServer, QuietHandler

_REQUEST_TYPES = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
}


class OTLPReceiver(LoopbackServer):
    """Receives OTLP/HTTP exports on a free loopback port (or ``port``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_Handler, host, port)
        self.requests: dict[str, list[Any]] = {path: [] for path in _REQUEST_TYPES}
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return self.url

    def spans(self, scope: str | None = None) -> list[Span]:
        """Every span received so far (of instrumentation ``scope``, if given)."""
        with self._lock:
            return [
                span
                for request in self.requests["/v1/traces"]
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                if scope is None or scope_spans.scope.name == scope
                for span in scope_spans.spans
            ]

    def wait_for(self, condition: Callable[[OTLPReceiver], Any], timeout_s: float = 30.0) -> Any:
        """Poll ``condition(self)`` until it is truthy; return it, or fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = condition(self)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"OTLP receiver: condition not met in {timeout_s} s")
            time.sleep(0.05)


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        request_type = _REQUEST_TYPES.get(self.path)
        if request_type is None:
            self._reply(404, b"")
            return
        if self.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        message = request_type()
        message.ParseFromString(raw)
        receiver: OTLPReceiver = self.server.owner
        with receiver._lock:
            receiver.requests[self.path].append(message)
        self._reply(200, ExportTraceServiceResponse().SerializeToString())

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
