"""Who may deliver to a receiver: `auth=` as a bearer token or a callable on the headers."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

__all__ = ["AuthArg", "bearer", "check_auth"]

#: What `auth=` takes: a bearer token, a callable on the request's headers (True admits),
#: or None (everyone).
AuthArg = str | Callable[[Mapping[str, str]], bool] | None


def bearer(token: str) -> Callable[[Mapping[str, str]], bool]:
    """A check admitting exactly `Authorization: Bearer <token>` (compared in constant
    time; the scheme name is case-insensitive)."""
    expected = token.encode("utf-8")

    def admits(headers: Mapping[str, str]) -> bool:
        given = headers.get("authorization") or headers.get("Authorization") or ""
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credentials.strip().encode("utf-8"), expected)

    admits.__name__ = "bearer"
    return admits


def check_auth(auth: object) -> Callable[[Mapping[str, str]], bool] | None:
    """`auth=` as a check, or TypeError/ValueError saying what to pass."""
    if auth is None:
        return None
    if isinstance(auth, str):
        if not auth or auth != auth.strip() or any(c in auth for c in "\r\n"):
            raise ValueError(
                "auth takes a non-empty bearer token without surrounding spaces or line"
                f" breaks, not {auth!r}"
            )
        return bearer(auth)
    if callable(auth):
        return auth
    raise TypeError(
        "auth takes a bearer token (str), a function of the request's headers returning"
        f" True to admit, or None; not {auth!r}"
    )
