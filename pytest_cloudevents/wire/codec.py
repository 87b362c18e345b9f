"""`decode` and `encode` on top of the HTTP binding and the JSON format.

`decode` turns headers and a body into raw attributes and data per event, checks them with
`conformance`, and builds SDK events only from complete attributes: the SDK is never
allowed to fill in a missing `id`, `specversion` or `time`. It never raises for any
message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pytest_cloudevents.config import SPECS
from pytest_cloudevents.events import CloudEvent, EventLike, build
from pytest_cloudevents.spec.codes import Level
from pytest_cloudevents.spec.rules import (
    CONTEXT_ATTRIBUTES,
    EXTENSION_NAME,
    MAX_EVENT_SIZE,
    REQUIRED,
    SPECVERSIONS,
    Violation,
    check_attributes,
    check_size,
    parse_time,
)
from pytest_cloudevents.validate import check_mode
from pytest_cloudevents.wire.binding import (
    BATCH_JSON,
    STRUCTURED_JSON,
    decode_binary,
    encode_binary,
    media_type,
    mode_of,
)
from pytest_cloudevents.wire.headers import Headers
from pytest_cloudevents.wire.jsonformat import (
    decode_json_body,
    encode_structured,
    repeated_members,
)
from pytest_cloudevents.wire.raw import RawEvent, WireMode

__all__ = ["Decoded", "decode", "encode"]


@dataclass
class Decoded:
    """The result of `decode`.

    `events` holds the SDK events built from the message (empty when it was rejected);
    `violations` the MUST violations that reject it; `warnings` the SHOULD violations, plus
    in lax mode the MUST violations that did not stop an event from being built.
    """

    mode: WireMode | None
    events: list[CloudEvent] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    raw: list[RawEvent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the message is accepted (no violation rejects it)."""
        return not self.violations


def decode(
    headers: Mapping[str, str],
    body: bytes,
    *,
    strict: bool = True,
    max_body: int | None = None,
    extensions: str = "warn",
    spec: str = "1.0.2",
) -> Decoded:
    """Decode one HTTP message (request or response) into CloudEvents.

    `headers` maps header names (any case) to values; `body` is the raw body. In strict
    mode any MUST violation rejects the whole message (a batch included). In lax mode MUST
    violations become warnings and each event is built when the SDK can take it, with the
    attributes it refuses dropped; one that cannot be built still rejects the message.

    With `max_body`, a JSON body whose parsed form would take more than twice that (with
    its text) is `body-too-large`, refused before it is parsed (see `jsontext`). Never
    raises for any headers or body; raises `TypeError` only for arguments of the wrong type
    (a body that is not bytes, headers that are not a mapping).
    """
    if type(body) is not bytes:
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError(f"body must be bytes, not {type(body).__name__}; encode it first")
        body = bytes(body)
    if isinstance(headers, Headers):
        lowered = headers.lowered
    elif isinstance(headers, Mapping) or hasattr(headers, "items"):
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    else:
        raise TypeError(f"headers must be a mapping, not {type(headers).__name__}")
    content_type = lowered.get("content-type")
    mode = mode_of(content_type)
    draft = spec == DRAFT
    if mode == "binary":
        raw, problems = decode_binary(lowered, body, max_body, assume_json=not draft)
        if draft and isinstance(headers, Headers) and len(headers.pairs()) != len(headers):
            problems += _repeated_headers(headers)
    else:
        mt = media_type(content_type)
        if not mt.endswith("+json"):
            refused = Violation(
                "unsupported-format",
                None,
                f"event format {mt!r} is not supported; send {STRUCTURED_JSON}"
                f" (structured) or {BATCH_JSON} (batch)",
            )
            return Decoded(None, violations=[refused])
        raw, problems = decode_json_body(body, batch=mode == "batch", max_body=max_body)
        if draft and raw:
            problems += [
                Violation(
                    "attribute-repeated",
                    name,
                    f"the attribute {name!r} appears more than once"
                    + ("" if index is None else f" in event {index} of the batch")
                    + " (CloudEvents 1.0.3-wip: each attribute appears at most once)",
                )
                for index, name in repeated_members(body, batch=mode == "batch")
            ]
    decoded = Decoded(mode, raw=raw)
    _finish(decoded, problems, strict=strict, extensions=extensions)
    return decoded


#: The working draft's name as `spec=` takes it.
DRAFT: Final[str] = SPECS[-1]


def _repeated_headers(headers: Headers) -> list[Violation]:
    """The attributes a binary-mode message carries in more than one ce- header."""
    names = [n.lower() for n, _ in headers.pairs() if n.lower().startswith("ce-")]
    return [
        Violation(
            "attribute-repeated",
            name[3:],
            f"the header {name} appears {names.count(name)} times (CloudEvents 1.0.3-wip:"
            " each attribute appears at most once); send one",
        )
        for name in sorted({n for n in names if names.count(n) > 1})
    ]


def _finish(
    decoded: Decoded, problems: list[Violation], *, strict: bool, extensions: str = "warn"
) -> None:
    """Check every raw event, sort violations from warnings, build the SDK events."""
    raws = decoded.raw
    if len(raws) == 1:  # checked once, here: the loop below reuses it
        checked = [check_attributes(raws[0].attributes, extensions=extensions)]
        if not problems and not checked[0] and raws[0].size <= MAX_EVENT_SIZE:
            decoded.events = [build(raws[0].attributes, raws[0].data)]  # one clean event
            return
    else:
        checked = [check_attributes(raw.attributes, extensions=extensions) for raw in raws]
    musts = [p for p in problems if p.level is Level.MUST]
    decoded.warnings += [p for p in problems if p.level is Level.SHOULD]
    many = decoded.mode == "batch"
    for index, (raw, violations) in enumerate(zip(decoded.raw, checked, strict=True)):
        found = [
            _at(v, index) if many else v for v in violations if v.attribute not in raw.undecodable
        ]
        found += check_size(raw.size)
        musts += [v for v in found if v.level is Level.MUST]
        decoded.warnings += [v for v in found if v.level is Level.SHOULD]
    # Outside binary mode a broken envelope leaves nothing that lax mode could build.
    broken = decoded.mode != "binary" and any(v.breaks_envelope for v in musts)
    if musts and (strict or broken):
        decoded.violations = musts
        return
    decoded.warnings = musts + decoded.warnings
    events: list[CloudEvent] = []
    for raw in decoded.raw:
        if strict:
            events.append(build(raw.attributes, raw.data))
            continue
        event, refused = _build_lax(raw)
        if event is None:
            decoded.violations = refused
            return
        events.append(event)
    decoded.events = events


def _at(violation: Violation, index: int) -> Violation:
    return Violation(
        violation.code, violation.attribute, f"event {index}: {violation.message}", violation.level
    )


def _build_lax(raw: RawEvent) -> tuple[CloudEvent | None, list[Violation]]:
    """Build what the SDK accepts, dropping the attributes it refuses (lax mode)."""
    attributes: dict[str, Any] = {}
    for name, value in raw.attributes.items():
        if name == "time":
            if isinstance(value, str) and parse_time(value) is not None:
                attributes[name] = value
        elif name in CONTEXT_ATTRIBUTES:
            if isinstance(value, str) and value:
                attributes[name] = value
        elif name != "data" and EXTENSION_NAME.fullmatch(name):
            attributes[name] = value
    refused = [
        Violation(f"missing-{n}", n, f"even in lax mode an event needs a usable '{n}'")
        for n in REQUIRED
        if n not in attributes
    ]
    version = attributes.get("specversion")
    if version is not None and version not in SPECVERSIONS:
        refused.append(
            Violation(
                "specversion-unknown",
                "specversion",
                f"specversion {version!r} is unknown; even in lax mode send '1.0' or '0.3'",
            )
        )
    if refused:
        return None, refused
    return build(attributes, raw.data), []


def encode(event: EventLike, mode: str) -> tuple[dict[str, str], bytes]:
    """Encode one event in `mode` ("binary" or "structured")."""
    if check_mode(mode) == "binary":
        return encode_binary(event)
    return encode_structured(event)
