"""Run the local provider server: ``python -m ai_incidents.testing [--port N]``."""

from __future__ import annotations

import argparse
import threading

from ai_incidents.testing.provider_server import ProviderServer, Reply, echo_responder


def main(argv: list[str] | None = None) -> None:
    """Serve fixed replies until interrupted: ``python -m ai_incidents.testing``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--text-bytes", type=int, default=0, help="answer length (0: echo)")
    parser.add_argument("--chunks", type=int, default=None, help="content chunks per stream")
    args = parser.parse_args(argv)
    responder = echo_responder
    if args.text_bytes:
        text = ("The answer is in the account settings page. " * (args.text_bytes // 40 + 1))[
            : args.text_bytes
        ]
        responder = lambda api, body: Reply(text=text, chunks=args.chunks)  # noqa: E731
    server = ProviderServer(responder, port=args.port).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
