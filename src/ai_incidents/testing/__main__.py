"""Run the local provider server for your own app: ``python -m ai_incidents.testing``.

It speaks the OpenAI and Anthropic wire formats on loopback, offline, and prints the base
URLs to give the SDKs (``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``). The first line it prints
is the server's URL alone.
"""

from __future__ import annotations

import argparse
import threading

from ai_incidents.testing.provider_server import ProviderServer, Reply, echo_responder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ai_incidents.testing",
        description="A local server speaking the OpenAI and Anthropic wire formats (offline).",
        epilog="Then, in another shell: export OPENAI_BASE_URL=<printed> ANTHROPIC_BASE_URL=...",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument(
        "--text-bytes", type=int, default=0, help="answer this many bytes (0: a short answer)"
    )
    parser.add_argument(
        "--chunks", type=int, default=None, help="chunks per streamed answer (one per word)"
    )
    args = parser.parse_args(argv)
    responder = echo_responder
    if args.text_bytes:
        text = ("The answer is in the account settings page. " * (args.text_bytes // 40 + 1))[
            : args.text_bytes
        ]
        responder = lambda api, body: Reply(text=text, chunks=args.chunks)  # noqa: E731
    server = ProviderServer(responder, port=args.port).start()
    print(server.url, flush=True)
    print(f"export OPENAI_BASE_URL={server.openai_base_url} OPENAI_API_KEY=local", flush=True)
    print(f"export ANTHROPIC_BASE_URL={server.anthropic_base_url} ANTHROPIC_API_KEY=local",
          flush=True)  # fmt: skip
    print("serving until interrupted (Ctrl-C)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
