"""Every violation code once: its level (MUST or SHOULD), its kind (a rule of the spec, a
policy of the receiver, a contract) and the HTTP status a delivery rejected for it gets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = [
    "CODES",
    "DRAFT_CODES",
    "EXTENSION_CODES",
    "MUST_CODES",
    "POLICY_CODES",
    "SHOULD_CODES",
    "Code",
    "Level",
    "rejection_status",
]


class Level(str, Enum):
    """How binding a broken rule is: MUST rejects in strict mode, SHOULD only warns."""

    MUST = "MUST"
    SHOULD = "SHOULD"


@dataclass(frozen=True)
class Code:
    """One violation code: its level, whether it breaks the message's envelope (so that
    lax mode has nothing it could build) rather than one attribute's value, whether it is a
    rule of the CloudEvents spec (`kind`), and the HTTP status a delivery rejected for it
    is answered with."""

    level: Level
    envelope: bool = False
    spec: bool = True
    status: int = 400
    #: a rule of a documented extension (SHOULD unless `extensions="strict"`)
    extension: bool = False
    #: the version of the spec (or "extensions") that brought the rule
    version: str = "1.0.2"

    @property
    def kind(self) -> str:
        """`spec` (a rule of the CloudEvents spec), `extension` (of a documented
        extension), `policy` (the receiver's own) or `contract` (a JSON Schema the receiver
        was given)."""
        if self.extension:
            return "extension"
        if self.spec:
            return "spec"
        return "contract" if self.level is Level.MUST and not self.envelope else "policy"


#: Every violation code, defined once. The codes are public API.
CODES: Final[Mapping[str, Code]] = {
    # MUST rules on attributes
    "missing-id": Code(Level.MUST),
    "missing-source": Code(Level.MUST),
    "missing-type": Code(Level.MUST),
    "missing-specversion": Code(Level.MUST),
    "specversion-unknown": Code(Level.MUST),
    "empty-attribute": Code(Level.MUST),
    "attribute-type": Code(Level.MUST),
    "integer-out-of-range": Code(Level.MUST),
    "control-character": Code(Level.MUST),
    "source-not-uri-reference": Code(Level.MUST),
    "dataschema-not-absolute-uri": Code(Level.MUST),
    "time-not-rfc3339": Code(Level.MUST),
    "datacontenttype-not-media-type": Code(Level.MUST),
    "extension-name-invalid": Code(Level.MUST),
    "datacontenttype-header-in-binary": Code(Level.MUST),
    "invalid-percent-encoding": Code(Level.MUST),
    # MUST rules on the envelope
    "invalid-json": Code(Level.MUST, envelope=True),
    "not-an-object": Code(Level.MUST, envelope=True),
    "batch-not-an-array": Code(Level.MUST, envelope=True),
    "batch-mixed-specversion": Code(Level.MUST, envelope=True),
    "data-and-data-base64": Code(Level.MUST, envelope=True),
    "invalid-base64": Code(Level.MUST, envelope=True),
    "unsupported-format": Code(Level.MUST, envelope=True, status=415),
    "body-too-large": Code(Level.MUST, envelope=True, status=413),
    # receiver policy, not CloudEvents rules: broken HTTP/1.1 framing (bad chunking, a
    # malformed header block) that no message can be read from
    "malformed-http": Code(Level.MUST, envelope=True, spec=False),
    # a request head (request line and headers) over the server's bound (Limits.max_head)
    "head-too-large": Code(Level.MUST, envelope=True, spec=False, status=431),
    "unauthorized": Code(Level.MUST, envelope=True, spec=False, status=401),
    "unsupported-encoding": Code(Level.MUST, envelope=True, spec=False, status=415),
    "invalid-encoding": Code(Level.MUST, envelope=True, spec=False),
    # a platform's ingress (Receiver(platform=...)): its paths, methods and limits
    "unknown-route": Code(Level.MUST, envelope=True, spec=False, status=404),
    "malformed-route": Code(Level.MUST, envelope=True, spec=False),
    "method-not-allowed": Code(Level.MUST, envelope=True, spec=False, status=405),
    "ttl-exhausted": Code(Level.MUST, envelope=True, spec=False),
    "too-many-events": Code(Level.MUST, envelope=True, spec=False, status=413),
    "rate-exceeded": Code(Level.MUST, envelope=True, spec=False, status=429),
    "platform-metadata": Code(Level.MUST, envelope=True, spec=False),
    # a contract (Receiver(schemas=...)), not a rule of the spec
    "data-schema-mismatch": Code(Level.MUST, spec=False),
    # SHOULD rules (a closed list)
    "extension-name-too-long": Code(Level.SHOULD),
    "type-not-reverse-dns": Code(Level.SHOULD),
    "event-over-64kb": Code(Level.SHOULD),
    # the 1.0.3 working draft (Receiver(spec="1.0.3-wip")): "Each context attribute MUST
    # only appear at most once in a CloudEvent"
    "attribute-repeated": Code(Level.MUST, version="1.0.3-wip"),
    # the documented extensions (cloudevents/extensions/): SHOULD by default, their MUST
    # rules reject with Options(extensions="strict")
    "extension-time-not-rfc3339": Code(Level.SHOULD, extension=True, version="extensions"),
    "expirytime-before-time": Code(Level.SHOULD, extension=True, version="extensions"),
    "sampledrate-not-positive": Code(Level.SHOULD, extension=True, version="extensions"),
    "severitytext-empty": Code(Level.SHOULD, extension=True, version="extensions"),
    "severitytext-not-uppercase": Code(Level.SHOULD, extension=True, version="extensions"),
    "severitynumber-negative": Code(Level.SHOULD, extension=True, version="extensions"),
    "deprecated-not-boolean": Code(Level.SHOULD, extension=True, version="extensions"),
    "deprecationsunset-before-from": Code(Level.SHOULD, extension=True, version="extensions"),
    "deprecationmigration-not-uri": Code(Level.SHOULD, extension=True, version="extensions"),
    "sequence-empty": Code(Level.SHOULD, extension=True, version="extensions"),
    "partitionkey-empty": Code(Level.SHOULD, extension=True, version="extensions"),
    "dataref-not-uri-reference": Code(Level.SHOULD, extension=True, version="extensions"),
    "traceparent-invalid": Code(Level.SHOULD, extension=True, version="extensions"),
    # a platform changed the message (Dapr wrapped a binary-mode event in its envelope)
    "platform-wrapped": Code(Level.SHOULD, spec=False),
}

#: Every code a MUST rule of the released spec (1.0.2) can produce.
MUST_CODES: Final[frozenset[str]] = frozenset(
    name
    for name, code in CODES.items()
    if code.level is Level.MUST and code.spec and code.version == "1.0.2"
)
#: The codes of the working draft's rules (`spec="1.0.3-wip"`).
DRAFT_CODES: Final[frozenset[str]] = frozenset(
    name for name, code in CODES.items() if code.version == "1.0.3-wip"
)
#: The codes of the receiver's own policies (they reject like MUST rules).
POLICY_CODES: Final[frozenset[str]] = frozenset(
    name for name, code in CODES.items() if not code.spec
)
#: Every code a SHOULD rule can produce (a closed list).
SHOULD_CODES: Final[frozenset[str]] = frozenset(
    name for name, code in CODES.items() if code.level is Level.SHOULD
)

#: The codes of the documented extensions' rules (they reject with extensions="strict").
EXTENSION_CODES: Final[frozenset[str]] = frozenset(
    name for name, code in CODES.items() if code.extension
)

#: When a delivery breaks several rules, the status of the first of these that applies.
_PRECEDENCE: Final[tuple[int, ...]] = (401, 431, 404, 405, 429, 415, 413, 400)


def rejection_status(codes: Iterable[str]) -> int:
    """The status a delivery rejected for `codes` is answered with (401 for missing
    credentials, 431 for a head over the server's bound, 415 for a format or encoding
    the receiver does not read, 413 for a body over the limit, 400 otherwise)."""
    statuses = {CODES[c].status for c in codes if c in CODES}
    return next((s for s in _PRECEDENCE if s in statuses), 400)
