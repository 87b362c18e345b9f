"""Why two things a test compared differ: an event against `match(...)` attribute by
attribute, and events (or lists of them) as a JSON diff (`pytest_assertrepr_compare`)."""

from __future__ import annotations

import difflib
import json

from pytest_cloudevents.criteria.match import Matcher
from pytest_cloudevents.events import attributes_of, is_event
from pytest_cloudevents.wire import event_to_json as event_dict

__all__ = ["explain_comparison"]


def _as_json(value: object) -> str | None:
    """An event, or a list of events, as sorted JSON text; None for anything else."""
    if is_event(value):
        return json.dumps(event_dict(value), indent=1, sort_keys=True, default=str)  # type: ignore[arg-type]
    if isinstance(value, list) and value and all(is_event(v) for v in value):
        docs = [event_dict(v) for v in value]
        return json.dumps(docs, indent=1, sort_keys=True, default=str)
    return None


def explain_comparison(op: str, left: object, right: object) -> list[str] | None:
    """Why `left == right` failed, for events and matchers (pytest's assertion hook)."""
    if op != "==":
        return None
    shown = _as_json(left), _as_json(right)
    if shown[0] is not None and shown[1] is not None:
        if shown[0] == shown[1]:
            return [
                "the events are equal as JSON-format dicts, but this SDK's CloudEvent compares"
                " by identity: compare event_dict(a) == event_dict(b), or use match(...)"
            ]
        diff = difflib.ndiff(shown[0].splitlines(), shown[1].splitlines())
        return ["CloudEvents differ (as JSON-format dicts, - left + right):"] + [
            f"  {line}" for line in diff if line[:1] in "-+?"
        ]
    if isinstance(right, Matcher) and is_event(left):
        matcher, event = right, left
    elif isinstance(left, Matcher) and is_event(right):
        matcher, event = left, right
    else:
        return None
    attrs = attributes_of(event)  # type: ignore[arg-type]
    head = f"CloudEvent(type={attrs.get('type')!r}, id={attrs.get('id')!r}) == {matcher!r}"
    return [head, "the event differs from the match:"] + [
        f"  {line}"
        for line in matcher.explain(event)  # type: ignore[arg-type]
    ]
