"""The one frozen options object of receivers and sinks, and the argument checks every
public call uses.

The command line, the ini file and the `cloudevents` marker merge into one `Options`
(with `dataclasses.replace`); `Receiver`, `MockSink` and the fixtures take it whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final, Literal, TypedDict

__all__ = [
    "MODES",
    "Mode",
    "OptionKeywords",
    "Options",
    "check_bool",
    "check_mode",
    "check_seconds",
    "check_whole",
]

#: How a single event goes on the wire (a batch has its own call).
Mode = Literal["binary", "structured"]
MODES: Final[tuple[Mode, ...]] = ("binary", "structured")
#: Longer than any test should wait; also keeps `threading` timeouts in range.
MAX_SECONDS: Final[float] = 24 * 3600.0


def check_whole(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """`value` as an int (never a bool) within the bounds; TypeError/ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            bounds = f">= {minimum}"
        elif minimum is None:
            bounds = f"<= {maximum}"
        else:
            bounds = f"from {minimum} to {maximum}"
        raise ValueError(f"{name} must be a whole number {bounds}, not {value!r}")
    return value


def check_seconds(
    name: str, value: object, *, positive: bool = False, maximum: float = MAX_SECONDS
) -> float:
    """`value` as finite seconds: >= 0 (or > 0 when `positive`) and at most `maximum`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    number = float(value)
    low_ok = number > 0 if positive else number >= 0
    if math.isnan(number) or not low_ok or number > maximum:
        low = "> 0" if positive else ">= 0"
        raise ValueError(
            f"{name} must be a finite number of seconds {low} and at most {maximum:g},"
            f" not {value!r}"
        )
    return number


def check_bool(name: str, value: object) -> bool:
    """`value` when it is True or False; TypeError otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return value


def check_mode(value: object) -> Mode:
    """`value` when it is "binary" or "structured"; ValueError otherwise."""
    if value == "binary" or value == "structured":
        return value
    raise ValueError(f"mode must be 'binary' or 'structured', not {value!r} (batches: send_batch)")


class OptionKeywords(TypedDict, total=False):
    """The keywords `Receiver`, `make_ce_receiver` and `ce_mock.sink` take (see `Options`)."""

    strict: bool
    ack_status: int
    wait_timeout: float
    max_body: int
    check_rejected: bool
    seed: int


@dataclass(frozen=True)
class Options:
    """The settings of a receiver or sink.

    - `strict`: reject messages that break a MUST rule (default) or only warn;
    - `ack_status`: the 2xx status of the default acknowledgement (202);
    - `wait_timeout`: default seconds for `wait_for` and `assert_received` (5.0);
    - `max_body`: bodies over this many bytes are rejected with 413 (10 MiB);
    - `check_rejected`: fail the test on rejected deliveries it never looked at;
    - `seed`: the default seed of `flaky` faults (the plugin passes the test's seed).
    """

    strict: bool = True
    ack_status: int = 202
    wait_timeout: float = 5.0
    max_body: int = 10 * 1024 * 1024
    check_rejected: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        check_bool("strict", self.strict)
        check_bool("check_rejected", self.check_rejected)
        check_whole("ack_status (a 2xx status)", self.ack_status, minimum=200, maximum=299)
        object.__setattr__(self, "wait_timeout", check_seconds("wait_timeout", self.wait_timeout))
        check_whole("max_body (bytes)", self.max_body, minimum=1)
        check_whole("seed", self.seed)

    def merged(self, settings: Mapping[str, Any]) -> Options:
        """A copy with `settings` applied; an unknown name raises TypeError naming the
        known ones."""
        unknown = set(settings) - _NAMES
        if unknown:
            raise TypeError(
                f"unknown receiver option(s) {sorted(unknown)}; the options are {sorted(_NAMES)}"
            )
        return replace(self, **settings) if settings else self


_NAMES: Final[frozenset[str]] = frozenset(f.name for f in fields(Options))
