"""The plugin's settings: command-line options and ini keys made from `DEFAULTS`, the
`cloudevents` marker, the session's and each test's `Options`, and the per-test seed."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pytest

from pytest_cloudevents.config import DEFAULTS, Options, default

if TYPE_CHECKING:
    from pytest_cloudevents.expect.endpoint import Sink

__all__ = [
    "MARKER_KEYS",
    "TestState",
    "add_options",
    "base_seed",
    "options_for",
    "seed_for",
    "session_options",
    "state_of",
    "used_state",
]

_STATE = pytest.StashKey["TestState"]()
_CURRENT = pytest.StashKey[pytest.Item]()


def set_current(item: pytest.Item) -> None:
    """Note the test being set up (`pytest_runtest_setup`), for the fixtures that need
    it without asking for `request` (pytest makes three fixture definitions, each with a
    signature read, for every fixture that asks for it: a fifth of `ce_receiver`'s cost)."""
    item.config.stash[_CURRENT] = item


def current_item(config: pytest.Config) -> pytest.Item:
    """The test being set up (see `set_current`)."""
    return config.stash[_CURRENT]


_SESSION_OPTIONS = pytest.StashKey[Options]()
#: What `@pytest.mark.cloudevents(...)` takes.
MARKER_KEYS: Final[tuple[str, ...]] = tuple(k for k, d in DEFAULTS.items() if d.marker)
#: The ini keys, by the `Options` field each sets.
_INI: Final[dict[str, str]] = {k: d.ini for k, d in DEFAULTS.items() if d.ini is not None}


@dataclass
class TestState:
    """What one test used: its sinks, its seed and its marker's keywords."""

    __test__ = False  # not a test class, whatever pytest's collection thinks of the name

    seed: int
    marker: dict[str, Any] = field(default_factory=dict)
    sinks: list[Sink] = field(default_factory=list)


def add_options(parser: pytest.Parser) -> None:
    """The command-line options and the ini keys (one per `DEFAULTS` entry with an ini key)."""
    group = parser.getgroup("cloudevents", "CloudEvents receiver, client and factories")
    group.addoption(
        "--ce-host",
        default=default("host"),
        help=f"address the receivers bind to (default: {default('host')}, loopback only)",
    )
    group.addoption(
        "--ce-advertise-host",
        default=None,
        help="host name put in receiver URLs, e.g. host.docker.internal for containers",
    )
    group.addoption(
        "--ce-lax",
        action="store_true",
        default=False,
        help="accept messages that break MUST rules, recording them as warnings",
    )
    group.addoption(
        "--ce-seed",
        type=int,
        default=None,
        help="seed for every test's event factory and flaky faults (reproduces a failure)",
    )
    group.addoption(
        "--ce-tls",
        action="store_true",
        default=False,
        help="the session receiver (ce_receiver) speaks HTTPS from a throwaway CA (extra tls)",
    )
    group.addoption(
        "--ce-remote",
        default=None,
        metavar="URL",
        help="make ce_receiver a RemoteReceiver driving the standalone receiver at URL"
        " (pytest-cloudevents serve); its token comes from --ce-remote-token or CE_TOKEN",
    )
    group.addoption(
        "--ce-remote-token",
        default=None,
        metavar="TOKEN",
        help="the standalone receiver's --token (default: the CE_TOKEN variable)",
    )
    for name, key in _INI.items():
        value = DEFAULTS[name].value
        if isinstance(value, bool):
            parser.addini(key, DEFAULTS[name].help, type="bool", default=value)
        else:
            parser.addini(key, DEFAULTS[name].help, default=str(value))


def marker_line() -> str:
    """The marker's line for `pytest --markers`."""
    keys = ", ".join(f"{k}=None" for k in MARKER_KEYS)
    return (
        f"cloudevents({keys}): per-test settings of the CloudEvents receivers, sinks and factories"
    )


def _ini(config: pytest.Config, name: str) -> Any:
    key = _INI[name]
    raw = config.getini(key)
    kind = type(DEFAULTS[name].value)
    if kind is bool:
        return bool(raw)
    try:
        return kind(str(raw))
    except ValueError:
        raise pytest.UsageError(f"ini key {key} must be a number, not {raw!r}") from None


def _marker(item: pytest.Item) -> dict[str, Any]:
    marker = item.get_closest_marker("cloudevents")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError("@pytest.mark.cloudevents takes keywords only, e.g. strict=False")
    unknown = set(marker.kwargs) - set(MARKER_KEYS)
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.cloudevents does not know {sorted(unknown)}; use {list(MARKER_KEYS)}"
        )
    return dict(marker.kwargs)


def session_options(config: pytest.Config) -> Options:
    """The options from the command line and the ini file (read once per session)."""
    options = config.stash.get(_SESSION_OPTIONS, None)
    if options is None:
        settings = {name: _ini(config, name) for name in _INI}
        settings["strict"] = settings["strict"] and not config.getoption("ce_lax")
        try:
            options = Options(**settings)
        except (TypeError, ValueError) as exc:
            raise pytest.UsageError(f"cloudevents ini settings: {exc}") from None
        config.stash[_SESSION_OPTIONS] = options
    return options


def options_for(item: pytest.Item) -> Options:
    """The session's options with this test's marker and seed merged in."""
    state = state_of(item)
    marker = {k: v for k, v in state.marker.items() if k != "seed"}
    try:
        return session_options(item.config).merged({**marker, "seed": state.seed})
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"@pytest.mark.cloudevents on {item.nodeid}: {exc}") from None


def base_seed(config: pytest.Config) -> int:
    """The session's base seed: `--ce-seed`, else pytest-randomly's, else 0."""
    given = config.getoption("ce_seed")
    if given is not None:
        return int(given)
    if config.pluginmanager.hasplugin("randomly"):
        seed = getattr(config.option, "randomly_seed", None)
        if isinstance(seed, int):
            return seed
    return int(default("seed"))


def seed_for(item: pytest.Item, marker: dict[str, Any]) -> int:
    """The test's seed: the marker's, else the base seed mixed with the node id
    (`zlib.crc32(f"{base}:{nodeid}")`), so no two tests share ids and the same base gives
    the same events in every process and xdist worker."""
    if "seed" in marker:
        return int(marker["seed"])
    base = base_seed(item.config)
    return zlib.crc32(f"{base}:{item.nodeid}".encode())


def state_of(item: pytest.Item) -> TestState:
    """What the test uses (made on first use)."""
    state = item.stash.get(_STATE, None)
    if state is None:
        marker = _marker(item)
        state = TestState(seed=seed_for(item, marker), marker=marker)
        item.stash[_STATE] = state
    return state


def used_state(item: pytest.Item) -> TestState | None:
    """What the test used, or None when it used none of the plugin's fixtures."""
    return item.stash.get(_STATE, None)
