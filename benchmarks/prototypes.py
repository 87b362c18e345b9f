"""Bare keep-alive servers answering 202, one per candidate library for the receiver's
server, each on an asyncio loop in one thread: the ceiling each design could reach.

`python benchmarks/prototypes.py` measures both against bare werkzeug, side by side.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import h11
import requests


class LoopThread:
    """An asyncio loop in a daemon thread; `run(coro)` runs a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(2)


def bare_h11() -> tuple[str, Callable[[], None]]:
    """h11 over asyncio streams, answering every request 202."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data:
                        break
                    continue
                if isinstance(event, h11.EndOfMessage):
                    writer.write(
                        conn.send(
                            h11.Response(status_code=202, headers=[(b"content-length", b"0")])
                        )
                        + conn.send(h11.EndOfMessage())
                    )
                    if conn.our_state is h11.MUST_CLOSE:
                        break
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    break
        except h11.RemoteProtocolError:
            pass
        finally:
            writer.close()

    loop = LoopThread()
    sock = socket.create_server(("127.0.0.1", 0))
    server = loop.run(_start(asyncio.start_server(serve, sock=sock)))

    def stop() -> None:
        loop.run(_close(server))
        loop.stop()

    return f"http://127.0.0.1:{sock.getsockname()[1]}/", stop


def bare_aiohttp() -> tuple[str, Callable[[], None]]:
    """aiohttp's low-level server (its C HTTP parser), answering every request 202."""
    from aiohttp import web, web_server

    async def handler(request: Any) -> Any:
        await request.read()
        return web.Response(status=202)

    loop = LoopThread()
    sock = socket.create_server(("127.0.0.1", 0))

    async def start() -> Any:
        server = web_server.Server(handler)
        return await asyncio.get_running_loop().create_server(server, sock=sock)

    srv = loop.run(start())

    def stop() -> None:
        loop.run(_close(srv))
        loop.stop()

    return f"http://127.0.0.1:{sock.getsockname()[1]}/", stop


def bare_werkzeug() -> tuple[str, Callable[[], None]]:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any) -> None:
            return None

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("202 Accepted", [("Content-Length", "0")])
        return [b""]

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()

    return f"http://127.0.0.1:{server.server_port}/", stop


async def _start(coro: Any) -> Any:
    return await coro


async def _close(server: Any) -> None:
    server.close()


HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "1",
    "ce-source": "/bench",
    "ce-type": "com.example.bench",
    "content-type": "application/json",
}


def session_rate(url: str, n: int) -> float:
    """Posts per second over one requests.Session."""
    with requests.Session() as session:
        started = time.perf_counter()
        for _ in range(n):
            session.post(url, headers=HEADERS, data=b'{"n":1}').raise_for_status()
        return n / (time.perf_counter() - started)


def raw_rate(url: str, n: int) -> float:
    """Posts per second over one keep-alive http.client connection (reconnecting when the
    server closes it, as werkzeug does after every response)."""
    host, port = url.split("//")[1].strip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    started = time.perf_counter()
    for _ in range(n):
        conn.request("POST", "/", body=b'{"n":1}', headers=HEADERS)
        response = conn.getresponse()
        response.read()
        if response.will_close:
            conn.close()
            conn = http.client.HTTPConnection(host, int(port))
    conn.close()
    return n / (time.perf_counter() - started)


def main(rounds: int = 7, n: int = 300) -> None:
    servers = {"werkzeug": bare_werkzeug(), "h11": bare_h11(), "aiohttp": bare_aiohttp()}
    for measure in (session_rate, raw_rate):
        figures: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):  # alternating rounds: noise hits every server alike
            for name, (url, _) in servers.items():
                figures[name].append(measure(url, n))
        base = statistics.median(figures["werkzeug"])
        print(f"{measure.__doc__.splitlines()[0]}")  # type: ignore[union-attr]
        for name, values in figures.items():
            med = statistics.median(values)
            print(
                f"  {name:9} {med:8.0f}/s  x{med / base:.2f} of werkzeug  (range {min(values):.0f}-{max(values):.0f})"
            )
    for _, stop in servers.values():
        stop()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
