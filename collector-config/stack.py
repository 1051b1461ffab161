"""Run the alerting stack on loopback: collector, Jaeger, Prometheus and Alertmanager.

    python collector-config/stack.py      # start everything, print the endpoints, Ctrl-C stops

Binaries: the collector from build-collector.sh and Jaeger from install-jaeger.sh (both built
from the Go module proxy, cached), Prometheus and Alertmanager from Debian's packages
(`apt-get install prometheus prometheus-alertmanager`). Every service gets free ports and a
run folder holding its rendered configuration, data and log. The test suite uses ``Stack``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


class StackError(RuntimeError):
    """A component could not be built, installed or started (the message says why)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _script(name: str) -> Path:
    result = subprocess.run(
        ["bash", str(HERE / name)], capture_output=True, text=True, timeout=3600
    )
    if result.returncode != 0:
        raise StackError(f"{name} failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def _debian(*names: str) -> Path:
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise StackError(
        f"none of {', '.join(names)} is installed:"
        " apt-get install prometheus prometheus-alertmanager"
    )


class Stack:
    """The four services, started in ``run_dir``; ``stop()`` ends them, logs stay."""

    def __init__(self, run_dir: Path, pager_url: str, tickets_url: str) -> None:
        self.run_dir = run_dir
        self.pager_url = pager_url
        self.tickets_url = tickets_url
        self.ports = {
            name: free_port()
            for name in ("otlp_grpc", "otlp_http", "collector_metrics", "jaeger_otlp_grpc",
                         "jaeger_otlp_http", "jaeger_query", "jaeger_query_grpc", "prometheus",
                         "alertmanager")
        }  # fmt: skip
        self._processes: dict[str, subprocess.Popen] = {}

    @property
    def otlp_http(self) -> str:
        return f"http://127.0.0.1:{self.ports['otlp_http']}"

    @property
    def jaeger(self) -> str:
        return f"http://127.0.0.1:{self.ports['jaeger_query']}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.ports['prometheus']}"

    @property
    def alertmanager(self) -> str:
        return f"http://127.0.0.1:{self.ports['alertmanager']}"

    def start(self) -> Stack:
        collector = _script("build-collector.sh")
        jaeger = _script("install-jaeger.sh")
        prometheus = _debian("prometheus")
        alertmanager = _debian("prometheus-alertmanager", "alertmanager")
        p = self.ports
        self._start("jaeger", [str(jaeger), "--config", str(HERE / "jaeger/jaeger.yaml")], {
            "JAEGER_OTLP_GRPC": f"127.0.0.1:{p['jaeger_otlp_grpc']}",
            "JAEGER_OTLP_HTTP": f"127.0.0.1:{p['jaeger_otlp_http']}",
            "JAEGER_QUERY_HTTP": f"127.0.0.1:{p['jaeger_query']}",
            "JAEGER_QUERY_GRPC": f"127.0.0.1:{p['jaeger_query_grpc']}",
        })  # fmt: skip
        self._start("alertmanager", [
            str(alertmanager),
            f"--config.file={self._render('alertmanager/alertmanager.yml')}",
            f"--web.listen-address=127.0.0.1:{p['alertmanager']}",
            f"--storage.path={self.run_dir / 'alertmanager-data'}",
            "--cluster.listen-address=",
        ])  # fmt: skip
        rules = self.run_dir / "alerts.yml"
        shutil.copy(HERE / "prometheus/alerts.yml", rules)
        self._start("prometheus", [
            str(prometheus),
            f"--config.file={self._render('prometheus/prometheus.yml')}",
            f"--web.listen-address=127.0.0.1:{p['prometheus']}",
            f"--storage.tsdb.path={self.run_dir / 'prometheus-data'}",
            "--web.enable-remote-write-receiver",
            "--rules.alert.resend-delay=1s",
        ])  # fmt: skip
        self._start("collector", [str(collector), "--config", str(HERE / "collector.yaml")], {
            "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{p['otlp_grpc']}",
            "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{p['otlp_http']}",
            "JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{p['jaeger_otlp_grpc']}",
            "PROMETHEUS_REMOTE_WRITE_URL": f"{self.prometheus}/api/v1/write",
            "TELEMETRY_METRICS_PORT": str(p["collector_metrics"]),
        })  # fmt: skip
        self._wait_ready()
        return self

    def _render(self, template: str) -> Path:
        values = {
            "ALERTMANAGER_ADDRESS": f"127.0.0.1:{self.ports['alertmanager']}",
            "EVALUATION_INTERVAL": "1s",
            "PAGER_WEBHOOK_URL": self.pager_url,
            "TICKETS_WEBHOOK_URL": self.tickets_url,
        }
        text = string.Template((HERE / template).read_text()).substitute(values)
        target = self.run_dir / Path(template).name
        target.write_text(text)
        return target

    def _start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.run_dir / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
        self._processes[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self.run_dir,
            env={**os.environ, **(env or {})},
        )  # fmt: skip

    def _wait_ready(self, timeout_s: float = 60.0) -> None:
        checks = {
            "jaeger": f"{self.jaeger}/api/services",
            "alertmanager": f"{self.alertmanager}/-/ready",
            "prometheus": f"{self.prometheus}/-/ready",
            "collector": f"http://127.0.0.1:{self.ports['collector_metrics']}/metrics",
        }
        deadline = time.monotonic() + timeout_s
        for name, url in checks.items():
            while True:
                if self._processes[name].poll() is not None:
                    raise StackError(f"{name} exited at start:\n{self.log(name)}")
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError as error:
                    if time.monotonic() > deadline:
                        message = f"{name} not ready in {timeout_s} s:\n{self.log(name)}"
                        raise StackError(message) from error
                    time.sleep(0.2)

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.run_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def stop(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    run_dir = Path(os.environ.get("AI_INCIDENTS_STACK_DIR", "stack-run")).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    pager = os.environ.get("PAGER_WEBHOOK_URL", "http://127.0.0.1:9/pager")
    tickets = os.environ.get("TICKETS_WEBHOOK_URL", "http://127.0.0.1:9/tickets")
    stack = Stack(run_dir, pager, tickets).start()
    print(f"OTLP/HTTP   {stack.otlp_http}  (OTEL_EXPORTER_OTLP_ENDPOINT)")
    print(f"Jaeger      {stack.jaeger}")
    print(f"Prometheus  {stack.prometheus}")
    print(f"Alertmanager {stack.alertmanager}")
    print(f"logs and data in {run_dir}; Ctrl-C stops")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
