"""assert_ack, assert_nack and assert_undelivered: failures that say what happened; and
the explanation of a failed `==` between events and matchers."""

from __future__ import annotations

import re

from pytest_cloudevents.send.client import Outcome, Result

__all__ = ["assert_ack", "assert_nack", "assert_undelivered"]


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
