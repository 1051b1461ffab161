"""An HTTP server on a loopback port, served from a background thread."""

from __future__ import annotations

import http.server
import socketserver
import threading
from typing import Any, TypeVar

_Self = TypeVar("_Self", bound="LoopbackServer")


class LoopbackServer:
    """Base of the local test servers: ``start``/``stop`` or ``with``; handlers see ``owner``."""

    def __init__(self, handler: type[QuietHandler], host: str = "127.0.0.1", port: int = 0):
        self._httpd = _ThreadingServer((host, port), handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self: _Self) -> _Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (abandoned streams) are part of the tests, not errors."""


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no Nagle delay, no request log."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _ThreadingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass
