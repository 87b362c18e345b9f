"""The documented CloudEvents extensions (`cloudevents/spec`, `cloudevents/extensions/`), as
checks on an event's raw attributes: `expirytime`, `sampledrate`, `severitytext` and
`severitynumber`, `deprecated` and its `deprecationfrom`/`deprecationsunset`/
`deprecationmigration`, `sequence` and `sequencetype`, `partitionkey`, `dataref`,
`traceparent` (distributed tracing) and `recordedtime`.

An extension's rules apply only where the event carries its attributes. Each violation is
SHOULD-level by default (a warning on an accepted delivery); with `extensions="strict"`,
the rules the extension states as MUST reject the delivery (its SHOULD rules stay
warnings). Binary mode carries every value as a string: `"true"`, `"30"` are read as the
boolean and the integer they spell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pytest_cloudevents.spec.codes import Level
from pytest_cloudevents.spec.syntax import (
    is_absolute_uri,
    is_uri_reference,
    parse_time,
    parse_traceparent,
    whole_number,
)

__all__ = ["EXTENSION_ATTRIBUTES", "RELATIONAL", "Broken", "check_extensions"]

#: Every attribute an extension documented here defines.
EXTENSION_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    {
        "expirytime",
        "sampledrate",
        "severitytext",
        "severitynumber",
        "deprecated",
        "deprecationfrom",
        "deprecationsunset",
        "deprecationmigration",
        "sequence",
        "sequencetype",
        "partitionkey",
        "dataref",
        "traceparent",
        "recordedtime",
    }
)
#: Attributes whose rule reads another attribute (so no value of theirs is clean alone).
RELATIONAL: Final[frozenset[str]] = frozenset({"expirytime", "deprecationsunset"})


def _time(value: Any) -> Any:
    return parse_time(value) if isinstance(value, str) else None


#: One broken rule: (code, attribute, message, level); `rules.check_attributes` makes
#: each a `Violation`.
Broken = tuple[str, str, str, Level]


def check_extensions(attributes: Mapping[str, Any], *, strict: bool) -> list[Broken]:
    """The rules of the documented extensions that `attributes` (the event's raw
    attributes, `None` values already left out) break."""
    out: list[Broken] = []
    must = Level.MUST if strict else Level.SHOULD

    def add(code: str, name: str, message: str, level: Level) -> None:
        out.append((code, name, message, level))

    for name in ("expirytime", "deprecationfrom", "deprecationsunset", "recordedtime"):
        if name in attributes and _time(attributes[name]) is None:
            add(
                "extension-time-not-rfc3339",
                name,
                f"{name} {attributes[name]!r} is not an RFC 3339 timestamp, as its extension"
                " requires; send e.g. '2026-04-05T17:31:00Z'",
                must,
            )
    expiry, time = _time(attributes.get("expirytime")), _time(attributes.get("time"))
    if expiry is not None and time is not None and expiry < time:
        add(
            "expirytime-before-time",
            "expirytime",
            f"expirytime {attributes['expirytime']} is before the event's time"
            f" {attributes['time']}; it should be equal to or later",
            Level.SHOULD,
        )
    if "sampledrate" in attributes:
        rate = whole_number(attributes["sampledrate"])
        if rate is None or rate <= 0:
            add(
                "sampledrate-not-positive",
                "sampledrate",
                f"sampledrate {attributes['sampledrate']!r} must be an integer greater than 0"
                " (1: not sampled)",
                must,
            )
    if "severitytext" in attributes:
        text = attributes["severitytext"]
        if not isinstance(text, str) or not text:
            add(
                "severitytext-empty",
                "severitytext",
                "severitytext must be a non-empty string",
                must,
            )
        elif text != text.upper():
            add(
                "severitytext-not-uppercase",
                "severitytext",
                f"severitytext {text!r} should be uppercase (TRACE, DEBUG, INFO, WARN, ERROR,"
                " FATAL)",
                Level.SHOULD,
            )
    if "severitynumber" in attributes:
        number = whole_number(attributes["severitynumber"])
        if number is None or number < 0:
            add(
                "severitynumber-negative",
                "severitynumber",
                f"severitynumber {attributes['severitynumber']!r} must be an integer that is"
                " not negative",
                must,
            )
    if "deprecated" in attributes:
        flag = attributes["deprecated"]
        if not (isinstance(flag, bool) or flag in ("true", "false")):
            add(
                "deprecated-not-boolean",
                "deprecated",
                f"deprecated {flag!r} must be a boolean (true or false)",
                must,
            )
    start, sunset = (
        _time(attributes.get("deprecationfrom")),
        _time(attributes.get("deprecationsunset")),
    )
    if start is not None and sunset is not None and sunset < start:
        add(
            "deprecationsunset-before-from",
            "deprecationsunset",
            f"deprecationsunset {attributes['deprecationsunset']} is before deprecationfrom"
            f" {attributes['deprecationfrom']}; it must be the same or later",
            must,
        )
    migration = attributes.get("deprecationmigration")
    if isinstance(migration, str) and migration and not is_absolute_uri(migration):
        add(
            "deprecationmigration-not-uri",
            "deprecationmigration",
            f"deprecationmigration {migration!r} should be an absolute URI of the migration guide",
            Level.SHOULD,
        )
    for name, code in (
        ("sequence", "sequence-empty"),
        ("sequencetype", "sequence-empty"),
        ("partitionkey", "partitionkey-empty"),
    ):
        if name in attributes:
            value = attributes[name]
            if not isinstance(value, str) or not value:
                add(code, name, f"{name} must be a non-empty string, not {value!r}", must)
    dataref = attributes.get("dataref")
    if dataref is not None and not (
        isinstance(dataref, str) and dataref and is_uri_reference(dataref)
    ):
        add(
            "dataref-not-uri-reference",
            "dataref",
            f"dataref {dataref!r} must be a URI-reference (where the data can be fetched)",
            must,
        )
    if "traceparent" in attributes and parse_traceparent(attributes["traceparent"]) is None:
        add(
            "traceparent-invalid",
            "traceparent",
            f"traceparent {attributes['traceparent']!r} is not a W3C Trace Context value"
            " (version-traceid-parentid-flags, e.g. 00-4bf92f3577b34da6a3ce929d0e0e4736-"
            "00f067aa0ba902b7-01)",
            must,
        )
    return out
