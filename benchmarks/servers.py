"""The servers the receiver is measured against, each in its own process: nginx answering
`return 202;` (Debian's nginx-light: the C server that shows the Python client's own limit),
the bare server of the plugin's parser (httptools on an asyncio Protocol, answering 202),
the receiver itself and `serve`. And instruction counts per delivery with callgrind.

Each server prints its port on its first line, serves until its stdin closes (or says
`stop`), and answers `count` on stdin with the deliveries it recorded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parent.parent

BARE_HTTPTOOLS = """
import asyncio, sys, threading
import httptools

ANSWER = b"HTTP/1.1 202 Accepted\\r\\nContent-Length: 0\\r\\n\\r\\n"

class Bare(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
    def data_received(self, data):
        self.parser.feed_data(data)
    def on_message_complete(self):
        self.transport.write(ANSWER)

loop = asyncio.new_event_loop()
server = loop.run_until_complete(loop.create_server(Bare, "127.0.0.1", 0))
print(server.sockets[0].getsockname()[1], flush=True)
threading.Thread(target=loop.run_forever, daemon=True).start()
for line in sys.stdin:
    if line.strip() == "count":
        print(0, flush=True)
    elif line.strip() == "stop":
        break
"""

RECEIVER = """
import sys
from pytest_cloudevents import Receiver
receiver = Receiver()
print(receiver.port, flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "count":
        print(len(receiver.deliveries), flush=True)
    elif command == "reset":
        receiver.reset()
        print("ok", flush=True)
    elif command == "stop":
        break
receiver.stop()
"""

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix};
    proxy_temp_path {prefix};
    fastcgi_temp_path {prefix};
    uwsgi_temp_path {prefix};
    scgi_temp_path {prefix};
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 202; }}
    }}
}}
"""


class Served:
    """A server process: its URL, `count()`, `stop()`."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process, self.url = process, f"http://127.0.0.1:{port}/"

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def count(self) -> int:
        return int(self.ask("count"))

    def stop(self) -> str:
        """Stop it; what it wrote on stderr (callgrind's summary, under valgrind)."""
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.write("stop\n")
                self.process.stdin.flush()
        try:
            self.process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        assert self.process.stderr is not None
        return self.process.stderr.read() or ""


#: Counted runs hash strings the same way each time (a random seed moves counts by ~1%).
COUNTED_ENV: Final[dict[str, str]] = {**os.environ, "PYTHONHASHSEED": "0"}


def python_server(source: str, *prefix: str) -> Served:
    process = subprocess.Popen(
        [*prefix, sys.executable, "-c", textwrap.dedent(source)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=COUNTED_ENV if prefix else None,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return Served(process, port)


def bare_httptools() -> Served:
    return python_server(BARE_HTTPTOOLS)


def receiver() -> Served:
    return python_server(RECEIVER)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


@contextlib.contextmanager
def nginx() -> Iterator[str]:
    """nginx answering `return 202;` on a free loopback port, in its own process."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (make bench installs nginx-light as root)")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as prefix:
        conf = Path(prefix) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, port=port))
        process = subprocess.Popen(
            [binary, "-c", str(conf), "-p", prefix],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            process.wait(10)


def instructions(
    start: Callable[..., Served],
    source: str,
    send: Callable[[str, int], float],
    counts: tuple[int, int] = (200, 1200),
) -> float:
    """Instructions per request of a server, counted with callgrind: two runs that differ
    only in how many requests they answer; the difference over the extra requests."""
    totals = []
    for n in counts:
        served = python_server(
            source, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"
        )
        send(served.url, n)
        err = served.stop()
        found = re.search(r"Collected : (\d+)", err)
        if found is None:
            raise RuntimeError(f"callgrind gave no count:\n{err[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (counts[1] - counts[0])


APP_ONLY = """
import sys
from pytest_cloudevents.config import Options
from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.driver import drive
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.recording.store import LocalRecording
from pytest_cloudevents.wire import Headers

HEADERS = [("Host", "127.0.0.1"), ("Accept-Encoding", "identity"), ("ce-specversion", "1.0"),
           ("ce-id", "bench-1"), ("ce-source", "/bench"), ("ce-type", "com.example.bench"),
           ("content-type", "application/json"), ("Content-Length", "7")]
app = DeliveryApp(LocalRecording(Options()))
for _ in range(int(sys.argv[1])):
    request = Request.from_http("POST", "/", Headers(HEADERS), b'{"n":1}', max_body=10 << 20,
                                received=7, declared_length=7, remote_addr="127.0.0.1")
    app.needs_thread(request)
    drive(app.deliver(request), print)
"""


def app_instructions(counts: tuple[int, int] = (200, 1200)) -> float:
    """Instructions per delivery of the delivery app alone (no socket), by callgrind."""
    totals = []
    for n in counts:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, "-c", textwrap.dedent(APP_ONLY), str(n)],
            capture_output=True, text=True, cwd=ROOT, timeout=600, env=COUNTED_ENV,
        )  # fmt: skip
        found = re.search(r"Collected : (\d+)", run.stderr)
        if found is None:
            raise RuntimeError(f"callgrind gave no count:\n{run.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (counts[1] - counts[0])
