"""HTTPS for the plugin's receivers: one throwaway certificate authority per process, made
by trustme (extra `tls`) on first use, with a server certificate for 127.0.0.1, localhost
and ::1, client certificates on demand (mutual TLS), and the PEM files the service under
test is pointed at. The files live in a temporary directory removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pytest_cloudevents.extras import require

__all__ = [
    "ClientCert",
    "TLSInfo",
    "TLSMode",
    "ca_bundle",
    "check_tls",
    "client_cert",
    "server_context",
    "trusted_bundle",
]

TLSMode = Literal[False, True, "require-client-cert"]
#: The names the server certificate is valid for.
SERVER_NAMES: Final[tuple[str, ...]] = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TLSInfo:
    """What a delivery's connection negotiated: the protocol version, and the subject of
    the client's certificate (mutual TLS), e.g. `CN=producer`, or None."""

    version: str
    peer: str | None = None


class ClientCert(tuple[str, str]):
    """A client certificate's PEM paths: `cert` and `key`. It unpacks as `(cert, key)`,
    the form `requests` takes (`cert=receiver.client_cert()`)."""

    def __new__(cls, cert: str, key: str) -> ClientCert:
        return super().__new__(cls, (cert, key))

    @property
    def cert(self) -> str:
        """The certificate chain, PEM."""
        return self[0]

    @property
    def key(self) -> str:
        """The private key, PEM."""
        return self[1]


def check_tls(tls: object) -> TLSMode:
    """`tls` as given, or TypeError/ValueError saying what to pass."""
    if tls is False or tls is True or tls == "require-client-cert":
        return tls
    raise ValueError(f"tls takes False, True or 'require-client-cert', not {tls!r}")


class _Authority:
    """The process's CA and the files made from it."""

    def __init__(self) -> None:
        trustme = require("trustme", "a receiver with tls=")
        self.ca: Any = trustme.CA(organization_name="pytest-cloudevents throwaway CA")
        self.server: Any = self.ca.issue_cert(*SERVER_NAMES)
        self.directory = Path(tempfile.mkdtemp(prefix="pytest-cloudevents-tls-"))
        atexit.register(shutil.rmtree, self.directory, True)
        self.ca_path = self.directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self.server_path = self.directory / "server.pem"
        self.server.private_key_and_cert_chain_pem.write_to_path(str(self.server_path))
        self._issued = 0
        self._bundle: Path | None = None
        self._lock = threading.Lock()

    def client(self, name: str) -> ClientCert:
        with self._lock:
            self._issued += 1
            number = self._issued
        issued = self.ca.issue_cert(name, common_name=name)
        cert = self.directory / f"client-{number}.pem"
        key = self.directory / f"client-{number}.key"
        for blob in issued.cert_chain_pems:
            blob.write_to_path(str(cert), append=True)
        issued.private_key_pem.write_to_path(str(key))
        return ClientCert(str(cert), str(key))

    def bundle(self) -> str:
        """The system's trusted CAs (certifi's, as requests uses) plus this CA."""
        with self._lock:
            if self._bundle is None:
                import certifi

                path = self.directory / "trusted.pem"
                path.write_bytes(
                    Path(certifi.where()).read_bytes() + b"\n" + self.ca_path.read_bytes()
                )
                self._bundle = path
            return str(self._bundle)


_AUTHORITY: _Authority | None = None
_LOCK = threading.Lock()


def _authority() -> _Authority:
    global _AUTHORITY
    with _LOCK:
        if _AUTHORITY is None:
            _AUTHORITY = _Authority()
        return _AUTHORITY


def server_context(mode: TLSMode) -> ssl.SSLContext:
    """The server side of a TLS receiver (made from the process's CA)."""
    authority = _authority()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(authority.server_path))
    if mode == "require-client-cert":
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(authority.ca_path))
    return context


def ca_bundle() -> str:
    """The CA's PEM path, for the service under test (`REQUESTS_CA_BUNDLE`,
    `SSL_CERT_FILE`, httpx's `verify=`)."""
    return str(_authority().ca_path)


def client_cert(name: str = "producer") -> ClientCert:
    """A new client certificate for `name` from the process's CA (mutual TLS)."""
    return _authority().client(name)


def trusted_bundle() -> str | None:
    """The public CAs plus the plugin's, once the plugin has made its CA; else None (the
    plugin's clients then trust what they would anyway)."""
    return None if _AUTHORITY is None else _AUTHORITY.bundle()


def describe_peer(ssl_object: Any) -> TLSInfo | None:
    """The TLS facts of a connection (from asyncio's `ssl_object` extra), or None."""
    if ssl_object is None:
        return None
    peer = ssl_object.getpeercert()
    subject = None
    if peer:
        parts = [f"{k}={v}" for rdn in peer.get("subject", ()) for k, v in rdn]
        short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU"}
        subject = (
            ",".join(
                f"{short.get(p.split('=', 1)[0], p.split('=', 1)[0])}={p.split('=', 1)[1]}"
                for p in parts
            )
            or None
        )
    return TLSInfo(str(ssl_object.version()), subject)


def check_verify(verify: object) -> bool | str:
    """`verify=` as given: True, False or the path of a CA bundle (PEM) that exists."""
    if isinstance(verify, bool):
        return verify
    if isinstance(verify, str):
        if not os.path.isfile(verify):
            raise ValueError(
                f"verify takes True, False or the path of a CA bundle (PEM); {verify!r} is not"
                " a file (a TLS receiver's is receiver.ca_bundle)"
            )
        return verify
    raise TypeError(f"verify takes True, False or a CA bundle path, not {verify!r}")


def chosen_verify(verify: bool | str) -> bool | str:
    """What a client verifies against: with True, the public CAs plus the plugin's own
    throwaway CA once a TLS receiver made it (so plugin receivers are trusted)."""
    if verify is True:
        return trusted_bundle() or True
    return verify
