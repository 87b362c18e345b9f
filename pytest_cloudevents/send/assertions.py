"""assert_ack, assert_nack and assert_undelivered: failures that say what happened; and
the explanation of a failed `==` between events and matchers."""

from __future__ import annotations

import difflib
import json
import re

from pytest_cloudevents.criteria.match import Matcher
from pytest_cloudevents.events import attributes_of, is_event
from pytest_cloudevents.send.client import Outcome, Result
from pytest_cloudevents.wire import event_to_json as event_dict

__all__ = ["assert_ack", "assert_nack", "assert_undelivered", "explain_comparison"]


def _check_result(result: object) -> Result:
    __tracebackhide__ = True
    if not isinstance(result, Result):
        raise TypeError(f"pass the Result of client.send(...), not {type(result).__name__}")
    return result


def _fail(expected: str, result: Result) -> AssertionError:
    return AssertionError(f"expected {expected}, got {result.outcome.value}\n{result.describe()}")


def assert_ack(result: Result) -> Result:
    """Assert the send was acknowledged (a 2xx response); returns the result."""
    __tracebackhide__ = True
    result = _check_result(result)
    if result.outcome is not Outcome.ACK:
        raise _fail("ACK", result)
    return result


def assert_nack(result: Result, status: int | None = None) -> Result:
    """Assert the send got a non-2xx response (with exactly `status`, if given)."""
    __tracebackhide__ = True
    result = _check_result(result)
    if result.outcome is not Outcome.NACK:
        raise _fail("NACK" + (f" {status}" if status else ""), result)
    if status is not None and result.status_code != status:
        raise _fail(f"NACK {status}", result)
    return result


def assert_undelivered(
    result: Result, error: type[BaseException] | str | re.Pattern[str] | None = None
) -> Result:
    """Assert no response came back. `error` narrows it: an exception class (the error
    is an instance), a string (contained in the error's text) or a compiled regex."""
    __tracebackhide__ = True
    result = _check_result(result)
    if result.outcome is not Outcome.UNDELIVERED:
        raise _fail("UNDELIVERED", result)
    if error is None:
        return result
    text = f"{type(result.error).__name__}: {result.error}"
    if isinstance(error, type):
        ok = isinstance(result.error, error)
        wanted = f"UNDELIVERED with {error.__name__}"
    elif isinstance(error, re.Pattern):
        ok = error.search(text) is not None
        wanted = f"UNDELIVERED with an error matching /{error.pattern}/"
    elif isinstance(error, str):
        ok = error in text
        wanted = f"UNDELIVERED with an error containing {error!r}"
    else:
        raise TypeError(f"error takes an exception class, a string or a regex, not {error!r}")
    if not ok:
        raise AssertionError(f"expected {wanted}\n{result.describe()}")
    return result


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
