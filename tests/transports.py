"""The HTTP libraries a producer may send with, behind one small interface, so the parity
suite runs each body through requests, httpx (sync and async) and aiohttp.

Each library is used the way a producer uses it (its own client, its own exceptions);
the async ones run each call on a fresh event loop with `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import httpx
import requests

from pytest_cloudevents.tls import trusted_bundle

__all__ = ["LIBRARIES", "Http", "Sent", "http_for"]

LIBRARIES = ("requests", "httpx", "httpx-async", "aiohttp")


@dataclass
class Sent:
    """A response, whichever library got it."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Http:
    """One library: how to send, and the exceptions it raises for a dropped connection
    and a read timeout."""

    name: str
    disconnected: type[BaseException]
    timed_out: type[BaseException]

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | str = b"",
        timeout: float = 10.0,
    ) -> Sent:
        body = data.encode("utf-8") if isinstance(data, str) else data
        given = dict(headers or {})
        if url.startswith("https://") and trusted_bundle() is not None:
            # a TLS receiver: the producer is given its CA (mocks never verify)
            return self._secure(method, url, given, body, timeout)
        if self.name.startswith("httpx"):
            # httpx encodes str header values as ASCII; send the latin-1 bytes requests sends
            return self._httpx(method, url, given, body, timeout)
        if self.name == "requests":
            r = requests.request(method, url, headers=given, data=body, timeout=timeout)
            return Sent(r.status_code, r.headers, r.content)
        return asyncio.run(_aiohttp(method, url, given, body, timeout))

    def _secure(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Sent:
        ca = trusted_bundle()
        assert ca is not None
        context = ssl.create_default_context(cafile=ca)
        if self.name == "requests":
            r = requests.request(
                method, url, headers=headers, data=body, timeout=timeout, verify=ca
            )
            return Sent(r.status_code, r.headers, r.content)
        if self.name == "aiohttp":
            return asyncio.run(_aiohttp(method, url, headers, body, timeout, context))
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if self.name == "httpx-async":
            return asyncio.run(_httpx_async(method, url, raw, body, timeout, context))
        h = httpx.request(method, url, headers=raw, content=body, timeout=timeout, verify=context)
        return Sent(h.status_code, h.headers, h.content)

    def _httpx(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Sent:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if self.name == "httpx-async":
            return asyncio.run(_httpx_async(method, url, raw, body, timeout))
        h = httpx.request(method, url, headers=raw, content=body, timeout=timeout)
        return Sent(h.status_code, h.headers, h.content)

    def post(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | str = b"",
        timeout: float = 10.0,
    ) -> Sent:
        return self.request("POST", url, headers=headers, data=data, timeout=timeout)


async def _httpx_async(
    method: str,
    url: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    timeout: float,
    verify: ssl.SSLContext | bool = True,
) -> Sent:
    async with httpx.AsyncClient(verify=verify) as client:
        r = await client.request(method, url, headers=headers, content=body, timeout=timeout)
        return Sent(r.status_code, r.headers, r.content)


async def _aiohttp(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    context: ssl.SSLContext | None = None,
) -> Sent:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            url,
            headers=headers,
            data=body,
            timeout=aiohttp.ClientTimeout(sock_read=timeout),
            ssl=context if context is not None else True,
        ) as r,
    ):
        return Sent(r.status, r.headers, await r.read())


def http_for(name: str) -> Http:
    """The interface for one of `LIBRARIES`."""
    if name == "requests":
        return Http(name, requests.ConnectionError, requests.ReadTimeout)
    if name in ("httpx", "httpx-async"):
        return Http(name, httpx.RemoteProtocolError, httpx.ReadTimeout)
    if name == "aiohttp":
        return Http(name, aiohttp.ServerDisconnectedError, aiohttp.ServerTimeoutError)
    raise ValueError(f"unknown library {name!r}")
