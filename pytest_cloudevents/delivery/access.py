"""The one credential check: a bearer token compared in constant time, for `auth=` (what a
receiver demands of producers) and for the control API's token alike.

Tokens and presented credentials are compared as UTF-8 bytes, so a token or a header with
any characters is checked, never an error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import final
from urllib.parse import unquote

__all__ = [
    "AuthArg",
    "Bearer",
    "UserCheck",
    "check_auth",
    "check_token",
    "presented_token",
    "sas_problem",
    "token_matches",
]

#: What `auth=` takes: a bearer token, a callable on the request's headers (True admits),
#: or None (everyone).
AuthArg = str | Callable[[Mapping[str, str]], bool] | None


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The credentials of an `Authorization: Bearer <token>` header (the scheme name is
    case-insensitive), or None when there is none."""
    given = headers.get("authorization") or ""
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


def token_matches(presented: str | None, expected: bytes) -> bool:
    """Whether `presented` is the token, compared in constant time (any characters).

    A header value arrives as latin-1 text (its bytes as sent), a query parameter as
    decoded text: the token's UTF-8 bytes match either."""
    if presented is None:
        return False
    matched = hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected)
    try:
        raw = presented.encode("latin-1")
    except UnicodeEncodeError:
        return matched
    return hmac.compare_digest(raw, expected) or matched


@final
class Bearer:
    """Admits exactly `Authorization: Bearer <token>`."""

    runs_user_code = False
    challenge = "send Authorization: Bearer <token>"

    def __init__(self, token: str) -> None:
        self._expected = token.encode("utf-8")

    def __call__(self, headers: Mapping[str, str]) -> bool:
        return token_matches(presented_token(headers), self._expected)

    def __repr__(self) -> str:
        return "Bearer(<token>)"


@final
class UserCheck:
    """The user's own `auth=` function: run off the server's loop, as all user code."""

    runs_user_code = True
    challenge = "send the credentials this receiver's auth= check admits"

    def __init__(self, check: Callable[[Mapping[str, str]], bool]) -> None:
        self._check = check

    def __call__(self, headers: Mapping[str, str]) -> bool:
        return bool(self._check(headers))

    def __repr__(self) -> str:
        return f"UserCheck({self._check!r})"


def check_token(token: object, what: str = "token") -> str:
    """A token as given, or TypeError/ValueError: a non-empty string without surrounding
    spaces or line breaks."""
    if not isinstance(token, str):
        raise TypeError(f"{what} must be a string such as 's3cret', not {token!r}")
    if not token or token != token.strip() or any(c in token for c in "\r\n\x00"):
        raise ValueError(
            f"{what} must be a non-empty token without surrounding spaces or line breaks,"
            f" not {token!r}"
        )
    return token


def check_auth(auth: object) -> Bearer | UserCheck | None:
    """`auth=` as a check, or TypeError/ValueError saying what to pass."""
    if auth is None:
        return None
    if isinstance(auth, str):
        return Bearer(check_token(auth, "auth (a bearer token)"))
    if callable(auth):
        return UserCheck(auth)
    raise TypeError(
        "auth takes a bearer token (str), a function of the request's headers returning"
        f" True to admit, or None; not {auth!r}"
    )


def sas_problem(token: str, key: str, now: datetime | None = None) -> str | None:
    """What is wrong with an Azure shared access signature (`r=<resource>&e=<expiry>&s=
    <signature>`, each percent-encoded, the signature the base64 HMAC-SHA256 of `r=...&e=...`
    under the base64-decoded `key`), or None when it is valid and not expired."""
    fields: dict[str, str] = {}
    for part in token.split("&"):
        name, sep, value = part.partition("=")
        if not sep or name not in ("r", "e", "s") or name in fields:
            return "a shared access signature is r=<resource>&e=<expiry>&s=<signature>"
        fields[name] = value
    if set(fields) != {"r", "e", "s"}:
        return "a shared access signature is r=<resource>&e=<expiry>&s=<signature>"
    try:
        secret = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return "the receiver's key is not base64, so no signature made with it can be checked"
    signed = f"r={fields['r']}&e={fields['e']}".encode("ascii", "replace")
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest())
    if not hmac.compare_digest(unquote(fields["s"]).encode("ascii", "replace"), expected):
        return "the signature does not match the key"
    try:
        expiry = datetime.fromisoformat(unquote(fields["e"]))
    except ValueError:
        return f"the expiry {unquote(fields['e'])!r} is not a date and time"
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=timezone.utc)
    if expiry <= (now or datetime.now(timezone.utc)):
        return f"the signature expired at {expiry.isoformat()}"
    return None
