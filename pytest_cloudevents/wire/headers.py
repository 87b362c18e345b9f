"""`Headers`: the one header value every host, transport and reader exchanges.

An immutable multi-map: lookups are case-insensitive, names are kept exactly as sent (`Ce-Id`,
`ce-bad_name`), and a repeated header reads as its values joined by `", "` (RFC 9110 §5.3)
while `get_all` gives each one. `merged` is the one way headers are overridden: a name given
later replaces every earlier value of that name, whatever its case.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Final, Union, final

__all__ = [
    "CREDENTIAL_HEADERS",
    "HOP_BY_HOP",
    "REDACTED",
    "HeaderLike",
    "Headers",
    "is_credential",
    "shown_headers",
]

#: What a `Headers` is built from: a mapping of names to values, or (name, value) pairs.
HeaderLike = Union["Headers", Mapping[str, str], Iterable[tuple[str, str]]]


@final
class Headers(Mapping[str, str]):
    """Case-insensitive, immutable HTTP headers that keep names as sent.

    `lowered` maps each lower-cased name to its (joined) value, for the codec's fast reads.
    """

    __slots__ = ("_names", "_pairs", "_unread", "lowered")
    _pairs: tuple[tuple[str, str], ...] | None
    #: for headers a server read: the names and the values as read (NUL-joined bytes:
    #: nothing the garbage collector walks), made into `_pairs` when first asked for
    #: (most deliveries never are)
    _unread: tuple[bytes, bytes] | None
    _names: dict[str, str] | None
    lowered: dict[str, str]

    def __init__(self, headers: HeaderLike | None = None) -> None:
        if isinstance(headers, Headers):
            pairs: tuple[tuple[str, str], ...] = headers.pairs()
        elif headers is None:
            pairs = ()
        elif type(headers) is list or type(headers) is tuple:  # pairs (no ABC check)
            pairs = tuple(headers)
        elif isinstance(headers, Mapping):
            pairs = tuple(headers.items())
        else:
            pairs = tuple(headers)
        lowered = {name.lower(): value for name, value in pairs}
        if len(lowered) != len(pairs):  # a repeated name: its values joined, in order
            lowered = {}
            for name, value in pairs:
                key = name.lower()
                known = lowered.get(key)
                lowered[key] = value if known is None else f"{known}, {value}"
        self._pairs = pairs
        self._unread = None
        self._names = None  # made when the names are first iterated (most never are)
        #: lower-cased name -> value (repeated headers joined)
        self.lowered = lowered

    @classmethod
    def read(cls, names: bytes, values: bytes) -> Headers:
        """Headers as a server reads them: the names and the values, each joined by NUL
        (which HTTP allows in neither), as latin-1 bytes. Built in bulk: a request's
        headers cost a few calls, not a few per header."""
        if not names:
            return cls()
        texts = values.decode("latin-1").split("\0")
        new = object.__new__(cls)
        new._pairs, new._unread, new._names = None, (names, values), None
        # header names are ASCII tokens: lowering the bytes lowers them as str.lower would
        lowered = dict(zip(names.lower().decode("latin-1").split("\0"), texts, strict=True))
        new.lowered = lowered if len(lowered) == len(texts) else Headers(new.pairs()).lowered
        return new

    def __getitem__(self, name: str) -> str:
        return self.lowered[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.lowered

    def __iter__(self) -> Iterator[str]:
        if self._names is None:
            names: dict[str, str] = {}
            for name, _ in self.pairs():
                names.setdefault(name.lower(), name)  # the first spelling sent
            self._names = names
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self.lowered)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.lowered == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self.lowered.items()))

    def get_all(self, name: str) -> list[str]:
        """Every value sent under `name` (any case), in order."""
        key = name.lower()
        return [v for k, v in self.pairs() if k.lower() == key]

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The headers as sent: (name, value) pairs, repeats and order kept."""
        pairs = self._pairs
        if pairs is None:
            assert self._unread is not None
            names, values = self._unread
            # `_unread` stays: another thread may be reading it too
            sent, texts = names.decode("latin-1"), values.decode("latin-1")
            pairs = tuple(zip(sent.split("\0"), texts.split("\0"), strict=True))
            self._pairs = pairs
        return pairs

    def merged(self, *overrides: HeaderLike | None) -> Headers:
        """These headers with each of `overrides` applied in turn: every name an override
        gives replaces all earlier values of that name (case-insensitively)."""
        pairs = list(self.pairs())
        for override in overrides:
            if override is None:
                continue
            if isinstance(override, Headers):
                given = override.pairs()
            elif isinstance(override, Mapping):
                given = tuple(override.items())
            else:
                given = tuple(override)
            if not given:
                continue
            names = {name.lower() for name, _ in given}
            pairs = [(k, v) for k, v in pairs if k.lower() not in names]
            pairs += given
        return Headers(pairs)

    def without(self, *names: str) -> Headers:
        """These headers less every value of `names` (any case)."""
        drop = {n.lower() for n in names}
        return Headers([(k, v) for k, v in self.pairs() if k.lower() not in drop])

    def __repr__(self) -> str:
        return f"Headers({list(self.pairs())!r})"


#: Header names whose values are credentials, shown as `REDACTED` (and any name holding
#: `token` or `key`, any case): by the control API, the page and every export.
CREDENTIAL_HEADERS: Final[frozenset[str]] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "aeg-sas-key"}
)
REDACTED: Final[str] = "<redacted>"


def is_credential(name: str) -> bool:
    """Whether a header of this name carries a credential."""
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or "token" in lowered or "key" in lowered


def shown_headers(headers: Headers, *, credentials: bool = False) -> dict[str, str]:
    """Headers as the control API, the page and exports show them: names as sent,
    credentials redacted unless `credentials`."""
    return {
        name: value if credentials or not is_credential(name) else REDACTED
        for name, value in headers.items()
    }


#: Headers that belong to one connection (RFC 9110 §7.6.1), the framing, and `Host`: a
#: proxy passes none of them on, and a recording keeps none of them.
HOP_BY_HOP: Final[frozenset[str]] = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)
