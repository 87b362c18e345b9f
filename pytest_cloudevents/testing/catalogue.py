"""The catalogue of invalid messages: at least one malformed HTTP message for every MUST
rule the receiver checks, each with a readable id and the code a strict receiver gives it."""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pytest_cloudevents.config import default
from pytest_cloudevents.validate import check_whole

__all__ = ["InvalidCase", "invalid_messages"]


@dataclass(frozen=True)
class InvalidCase:
    """A malformed HTTP message and the violation `code` a strict receiver must give it."""

    id: str
    description: str
    headers: dict[str, str]
    body: bytes
    code: str

    def __repr__(self) -> str:
        return f"InvalidCase({self.id!r}, code={self.code!r})"


_BINARY: Final[dict[str, str]] = {
    "ce-specversion": "1.0",
    "ce-id": "bad-1",
    "ce-source": "/invalid",
    "ce-type": "com.example.invalid",
    "content-type": "application/json",
}
_STRUCTURED: Final[dict[str, str]] = {"content-type": "application/cloudevents+json"}
_BATCH: Final[dict[str, str]] = {"content-type": "application/cloudevents-batch+json"}
_EVENT: Final[dict[str, Any]] = {
    "specversion": "1.0",
    "id": "bad-1",
    "source": "/invalid",
    "type": "com.example.invalid",
}


def _binary(changes: Mapping[str, str | None]) -> dict[str, str]:
    headers = dict(_BINARY)
    for name, value in changes.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def _json(changes: Mapping[str, Any], drop: tuple[str, ...] = ()) -> bytes:
    doc = {k: v for k, v in _EVENT.items() if k not in drop}
    doc.update(changes)
    return json.dumps(doc).encode()


@functools.lru_cache(maxsize=8)
def _inflating(size: int) -> bytes:
    """A gzip body of a few KB that inflates to `size` bytes of JSON whitespace."""
    return gzip.compress(b" " * size, mtime=0)


def invalid_messages(*, max_body: int = default("max_body")) -> list[InvalidCase]:
    """Malformed messages, at least one for every MUST rule the receiver checks.

    Each case breaks exactly one rule. Use with `@pytest.mark.parametrize("case",
    invalid_messages(), ids=lambda c: c.id)` and `client.send_raw(case.headers, case.body)`.
    `max_body` sizes the `body-too-large` case to just over that limit.
    """
    check_whole("max_body (bytes)", max_body, minimum=1)
    b, s = _binary, _json
    cases = [
        ("missing-id", "binary mode without ce-id", b({"ce-id": None}), b"{}"),
        ("missing-source", "structured mode without source", _STRUCTURED, s({}, ("source",))),
        ("missing-type", "binary mode without ce-type", b({"ce-type": None}), b"{}"),
        (
            "missing-specversion",
            "structured mode with specversion null",
            _STRUCTURED,
            s({"specversion": None}),
        ),
        ("specversion-unknown", "specversion 2.0", b({"ce-specversion": "2.0"}), b"{}"),
        ("empty-attribute", "an empty ce-id", b({"ce-id": ""}), b"{}"),
        ("attribute-type", "a numeric id in structured mode", _STRUCTURED, s({"id": 42})),
        ("attribute-type", "a float extension", _STRUCTURED, s({"ratio": 0.5})),
        ("integer-out-of-range", "an extension beyond int32", _STRUCTURED, s({"count": 2**31})),
        ("control-character", "a newline in the subject", b({"ce-subject": "a%0Ab"}), b"{}"),
        ("source-not-uri-reference", "a space in the source", _STRUCTURED, s({"source": "/a b"})),
        (
            "dataschema-not-absolute-uri",
            "a relative dataschema",
            b({"ce-dataschema": "/s.json"}),
            b"{}",
        ),
        (
            "time-not-rfc3339",
            "ISO 8601 basic format time",
            b({"ce-time": "20180405T035624Z"}),
            b"{}",
        ),
        (
            "datacontenttype-not-media-type",
            "a Content-Type that is no media type",
            b({"content-type": "xyz"}),
            b"x",
        ),
        ("extension-name-invalid", "an upper-case extension name", _STRUCTURED, s({"myExt": "x"})),
        (
            "extension-name-invalid",
            "a header name with an underscore",
            b({"ce-bad_name": "x"}),
            b"{}",
        ),
        ("extension-name-invalid", "an extension named data", b({"ce-data": "x"}), b"{}"),
        (
            "datacontenttype-header-in-binary",
            "ce-datacontenttype in binary mode",
            b({"ce-datacontenttype": "application/json"}),
            b"{}",
        ),
        ("invalid-percent-encoding", "overlong UTF-8 %C0%A0", b({"ce-subject": "%C0%A0"}), b"{}"),
        ("invalid-percent-encoding", "a broken escape", b({"ce-subject": "100%"}), b"{}"),
        ("invalid-json", "a JSON body that does not parse", b({}), b'{"total": '),
        ("invalid-json", "a structured body that does not parse", _STRUCTURED, b"{"),
        ("not-an-object", "a structured body that is an array", _STRUCTURED, b"[]"),
        ("batch-not-an-array", "a batch body that is an object", _BATCH, s({})),
        (
            "batch-mixed-specversion",
            "a batch mixing 1.0 and 0.3",
            _BATCH,
            json.dumps([_EVENT, {**_EVENT, "specversion": "0.3"}]).encode(),
        ),
        (
            "data-and-data-base64",
            "both data and data_base64",
            _STRUCTURED,
            s({"data": "x", "data_base64": "eA=="}),
        ),
        (
            "invalid-base64",
            "data_base64 that is not base64",
            _STRUCTURED,
            s({"data_base64": "not base64!"}),
        ),
        (
            "unsupported-format",
            "an event format the receiver does not know",
            {"content-type": "application/cloudevents+avro"},
            b"\x00",
        ),
        ("body-too-large", f"a body of {max_body + 1} bytes", b({}), b"x" * (max_body + 1)),
        (
            "body-too-large",
            f"a small gzip body that inflates past {max_body} bytes",
            b({"content-encoding": "gzip"}),
            _inflating(max_body + 1),
        ),
        (
            "unsupported-encoding",
            "a body in a Content-Encoding the receiver does not know",
            b({"content-encoding": "br"}),
            b"\x0b\x01\x80{}\x03",
        ),
        (
            "invalid-encoding",
            "a gzip body that does not decode",
            b({"content-encoding": "gzip"}),
            b"\x1f\x8b not gzip",
        ),
    ]
    out = []
    for code, description, headers, body in cases:
        variant = _VARIANTS.get(description, "binary")  # body-too-large's description varies
        if code == "body-too-large" and "gzip" in description:
            variant = "gzip"
        ident = f"{code}-{variant}" if variant else code
        out.append(InvalidCase(ident, description, dict(headers), body, code))
    return out


#: The readable part of each case's id after its code: the mode, and what differs.
_VARIANTS: Final[dict[str, str]] = {
    "binary mode without ce-id": "binary",
    "structured mode without source": "structured",
    "binary mode without ce-type": "binary",
    "structured mode with specversion null": "structured-null",
    "specversion 2.0": "binary-2.0",
    "an empty ce-id": "binary-id",
    "a numeric id in structured mode": "structured-numeric-id",
    "a float extension": "structured-float-extension",
    "an extension beyond int32": "structured",
    "a newline in the subject": "binary-newline",
    "a space in the source": "structured-space",
    "a relative dataschema": "binary-relative",
    "ISO 8601 basic format time": "binary-basic-format",
    "a Content-Type that is no media type": "binary",
    "an upper-case extension name": "structured-uppercase",
    "a header name with an underscore": "binary-underscore",
    "an extension named data": "binary-data",
    "ce-datacontenttype in binary mode": "",
    "overlong UTF-8 %C0%A0": "binary-overlong-utf8",
    "a broken escape": "binary-broken-escape",
    "a JSON body that does not parse": "binary",
    "a structured body that does not parse": "structured",
    "a structured body that is an array": "structured-array",
    "a batch body that is an object": "",
    "a batch mixing 1.0 and 0.3": "",
    "both data and data_base64": "structured",
    "data_base64 that is not base64": "structured",
    "an event format the receiver does not know": "avro",
    "a body in a Content-Encoding the receiver does not know": "br",
    "a gzip body that does not decode": "gzip",
}
