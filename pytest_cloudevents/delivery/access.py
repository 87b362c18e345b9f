"""The one credential check: a bearer token compared in constant time, for `auth=` (what a
receiver demands of producers) and for the control API's token alike.

Tokens and presented credentials are compared as UTF-8 bytes, so a token or a header with
any characters is checked, never an error.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import final

__all__ = ["AuthArg", "Bearer", "UserCheck", "check_auth", "check_token", "presented_token"]

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
