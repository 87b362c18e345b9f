"""The settings of receivers and sinks, and `DEFAULTS`: the one table of every default.

`Options` (what a receiver or sink runs with), the ini keys, the command-line options, the
`cloudevents` marker, the `serve` command and the catalogue of invalid messages all read
their defaults from `DEFAULTS`, so a default is written once. The command line, the ini
file and the marker merge into one frozen `Options` (`Options.merged`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final, TypedDict, final

from pytest_cloudevents.validate import check_bool, check_seconds, check_whole

__all__ = ["DEFAULTS", "Default", "OptionKeywords", "Options", "default"]


@dataclass(frozen=True)
class Default:
    """One setting: its default `value`, what it does, and where users set it: the ini key,
    whether the `cloudevents` marker takes it, and the `serve` flag."""

    value: Any
    help: str
    ini: str | None = None
    marker: bool = False
    serve: str | None = None


#: Every default, by the name `Options` (or the call that takes it) gives it.
DEFAULTS: Final[Mapping[str, Default]] = {
    "strict": Default(
        True,
        "reject messages that break MUST rules (false: record them as warnings)",
        ini="cloudevents_strict",
        marker=True,
        serve="--lax",
    ),
    "ack_status": Default(
        202,
        "status of the default acknowledgement (2xx)",
        ini="cloudevents_ack_status",
        serve="--ack-status",
    ),
    "wait_timeout": Default(
        5.0, "default seconds to wait for events", ini="cloudevents_wait_timeout"
    ),
    "max_body": Default(
        10 * 1024 * 1024,
        "largest body accepted, in bytes (larger: 413 body-too-large)",
        ini="cloudevents_max_body",
        serve="--max-body",
    ),
    "check_rejected": Default(
        True,
        "fail a test on rejected deliveries it did not look at",
        ini="cloudevents_check_rejected",
        marker=True,
    ),
    "seed": Default(0, "seed of the test's factories and flaky faults", marker=True),
    "spec": Default(
        "1.0.2",
        "the CloudEvents text the receiver checks: 1.0.2, or the 1.0.3-wip working draft",
        ini="cloudevents_spec",
        marker=True,
        serve="--spec",
    ),
    "extensions": Default(
        "warn",
        "the documented extensions' rules: warn (SHOULD), or strict (their MUST rules reject)",
        ini="cloudevents_extensions",
        marker=True,
        serve="--strict-extensions",
    ),
    "host": Default("127.0.0.1", "address receivers bind to (loopback only)", serve="--host"),
    "serve_port": Default(8080, "port of the standalone receiver", serve="--port"),
    "control_prefix": Default(
        "/_ce/", "where the control API and the page live", serve="--control-prefix"
    ),
    "send_timeout": Default(5.0, "seconds a client waits for an answer"),
    "max_response": Default(
        10 * 1024 * 1024, "the most a client reads of a response body, in bytes (decoded)"
    ),
    "max_retry_after": Default(
        30.0, "the longest Retry-After a client waits before a retry; a longer one ends them"
    ),
}


#: The CloudEvents texts a receiver checks against.
SPECS: Final[tuple[str, ...]] = ("1.0.2", "1.0.3-wip")


def default(name: str) -> Any:
    """The default of setting `name` (see `DEFAULTS`)."""
    return DEFAULTS[name].value


class OptionKeywords(TypedDict, total=False):
    """The keywords `Receiver`, `make_ce_receiver` and `ce_mock.sink` take (see `Options`)."""

    strict: bool
    ack_status: int
    wait_timeout: float
    max_body: int
    check_rejected: bool
    seed: int
    spec: str
    extensions: str


@final
@dataclass(frozen=True)
class Options:
    """The settings of a receiver or sink (defaults: `DEFAULTS`).

    - `strict`: reject messages that break a MUST rule (default) or only warn;
    - `ack_status`: the 2xx status of the default acknowledgement (202);
    - `wait_timeout`: default seconds for `wait_for` and `assert_received` (5.0);
    - `max_body`: bodies over this many bytes are rejected with 413 (10 MiB);
    - `check_rejected`: fail the test on rejected deliveries it never looked at;
    - `seed`: the default seed of `flaky` faults (the plugin passes the test's seed);
    - `spec`: "1.0.2" (the released text) or "1.0.3-wip" (the working draft's rules too:
      each attribute at most once; a body without a type is not assumed JSON);
    - `extensions`: "warn" (the documented extensions' rules are SHOULD-level warnings) or
      "strict" (the rules they state as MUST reject the delivery).
    """

    strict: bool = default("strict")
    ack_status: int = default("ack_status")
    wait_timeout: float = default("wait_timeout")
    max_body: int = default("max_body")
    check_rejected: bool = default("check_rejected")
    seed: int = default("seed")
    spec: str = default("spec")
    extensions: str = default("extensions")

    def __post_init__(self) -> None:
        check_bool("strict", self.strict)
        check_bool("check_rejected", self.check_rejected)
        check_whole("ack_status (a 2xx status)", self.ack_status, minimum=200, maximum=299)
        object.__setattr__(self, "wait_timeout", check_seconds("wait_timeout", self.wait_timeout))
        check_whole("max_body (bytes)", self.max_body, minimum=1)
        check_whole("seed", self.seed)
        if self.spec not in SPECS:
            raise ValueError(
                f"spec is one of {list(SPECS)} (the released text, or the working draft), not"
                f" {self.spec!r}"
            )
        if self.extensions not in ("warn", "strict"):
            raise ValueError(
                f"extensions is 'warn' (the extensions' rules as warnings) or 'strict' (their"
                f" MUST rules reject), not {self.extensions!r}"
            )

    def merged(self, settings: Mapping[str, Any]) -> Options:
        """A copy with `settings` applied; an unknown name raises TypeError naming the
        known ones."""
        unknown = set(settings) - NAMES
        if unknown:
            raise TypeError(
                f"unknown receiver option(s) {sorted(unknown)}; the options are {sorted(NAMES)}"
            )
        return replace(self, **settings) if settings else self


#: The names of `Options`' fields.
NAMES: Final[frozenset[str]] = frozenset(f.name for f in fields(Options))
