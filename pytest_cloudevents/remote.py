"""`RemoteReceiver`: the `Receiver` interface over a standalone receiver's control API
(`pytest-cloudevents serve`, in a container or a cluster), so the same tests drive it.

Deliveries are mirrored into a local log on demand: every read first fetches what was
answered since the last fetch, and a wait long-polls the API (it returns as soon as a
delivery is answered; nothing sleeps). Faults travel as JSON; a Python handler or a
`when=` predicate cannot, and is refused with a clear error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, final
from urllib.parse import urljoin, urlsplit

import requests

from pytest_cloudevents.config import Options
from pytest_cloudevents.control_protocol import (
    MAX_WAIT,
    delivery_from_json,
    fault_to_json,
    matcher_to_json,
)
from pytest_cloudevents.criteria.match import Matcher
from pytest_cloudevents.delivery.access import check_token
from pytest_cloudevents.errors import (
    ControlAPIError,
    NotOnRemote,
    RemoteUnreachable,
    TokenRefused,
)
from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.faults.kinds import Fault, Flaky
from pytest_cloudevents.faults.rules import Rule, RuleList, When
from pytest_cloudevents.recording.log import DeliveryLog
from pytest_cloudevents.recording.wakeup import run_in_thread
from pytest_cloudevents.tls import check_verify, chosen_verify
from pytest_cloudevents.validate import check_path

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from pytest_cloudevents.config import OptionKeywords
    from pytest_cloudevents.criteria.schema import Contracts
    from pytest_cloudevents.recording.delivery import Delivery
    from pytest_cloudevents.recording.store import Auth, Handler

__all__ = ["RemoteReceiver", "RemoteRule"]


class _Mirror(DeliveryLog):
    """The local copy of the remote log; reads fetch first, waits long-poll."""

    def __init__(self, pull: Callable[[float], bool]) -> None:
        super().__init__()
        self._pull = pull

    def snapshot(self) -> list[Any]:
        self._pull(0.0)
        return super().snapshot()

    def events(self) -> list[CloudEvent]:
        self._pull(0.0)
        return super().events()

    def troubled(self) -> list[tuple[int, Delivery]]:
        self._pull(0.0)
        return super().troubled()

    def wait_events(
        self,
        matches: Callable[[CloudEvent], bool],
        done: Callable[[int], bool],
        timeout: float,
        *,
        keys: Sequence[tuple[str, str]] = (),
    ) -> tuple[list[CloudEvent], bool]:
        deadline = time.monotonic() + timeout
        self._pull(0.0)
        while True:
            found, ok = super().wait_events(matches, done, 0.0, keys=keys)
            remaining = deadline - time.monotonic()
            if ok or remaining <= 0:
                return found, ok
            self._pull(min(remaining, MAX_WAIT))  # returns when something is answered

    async def wait_events_async(
        self,
        matches: Callable[[CloudEvent], bool],
        done: Callable[[int], bool],
        timeout: float,
        *,
        keys: Sequence[tuple[str, str]] = (),
    ) -> tuple[list[CloudEvent], bool]:
        return await run_in_thread(lambda: self.wait_events(matches, done, timeout, keys=keys))


class RemoteRule(Rule):
    """A rule injected into a standalone receiver; `hits` is read from it."""

    def __init__(
        self, remote: RemoteReceiver, ident: int, fault: Fault, times: int | None, when: When
    ) -> None:
        self._remote = remote
        self.ident = ident
        super().__init__(fault, times, when)

    @property
    def hits(self) -> int:
        """How many deliveries this rule answered, as the standalone receiver counts."""
        for doc in self._remote._get("rules"):
            if doc["id"] == self.ident:
                return int(doc["hits"])
        return 0

    @hits.setter
    def hits(self, value: int) -> None:  # Rule.__init__ sets 0; the count is remote
        pass


#: Settings a standalone receiver fixes when it starts (`serve --lax`, `--ack-status`,
#: `--max-body`): a RemoteReceiver refuses to change them.
REMOTE_SETTINGS: Final[frozenset[str]] = frozenset(
    {"strict", "ack_status", "max_body", "extensions", "spec"}
)


@final
class _RemoteRecording:
    """The `Recording` of a remote receiver: the local mirror of the remote log, and the
    options that apply here (waits, the after-test check, flaky seeds). Rules, handler,
    auth and contracts live in the standalone receiver."""

    def __init__(self, options: Options, log: DeliveryLog) -> None:
        self.options = options
        self.log = log
        self.rules = RuleList()  # never consulted: the remote applies its own rules
        self.handler: Handler | None = None
        self.auth: Auth | None = None
        self.contracts: Contracts | None = None


@final
class RemoteReceiver(Sink):
    """The receiver interface over a standalone receiver at `url` (where producers post;
    the control API is under `control_prefix`). `token` is the `serve --token` token
    (`auth=` is its 0.2 name); `verify` the CA bundle of a `serve --tls` receiver (the path
    it prints). The local options (`wait_timeout`, `check_rejected`, `seed`) apply to waits
    and the after-test check; the remote's own (`strict`, `ack_status`, `max_body`) are
    fixed by `serve`, and asking for them here raises `NotOnRemote`."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        auth: str | None = None,
        control_prefix: str = "/_ce/",
        verify: bool | str = True,
        options: Options | None = None,
        **settings: Unpack[OptionKeywords],
    ) -> None:
        fixed = sorted(REMOTE_SETTINGS & set(settings))
        if fixed:
            raise NotOnRemote(
                f"a RemoteReceiver cannot set {fixed}: the standalone receiver fixes them when"
                " it starts (pytest-cloudevents serve --lax / --ack-status / --max-body)"
            )
        if token is not None and auth is not None:
            raise TypeError("give the control API's token once: token=... (auth= is its old name)")
        chosen = token if token is not None else auth
        if chosen is not None:
            check_token(chosen, "token (the serve --token value)")
        if options is not None and not isinstance(options, Options):
            raise TypeError(f"options must be an Options, not {options!r}")
        base = (options or Options()).merged(settings)
        self._fixed = {name: getattr(base, name) for name in REMOTE_SETTINGS}
        self._log = _Mirror(self._pull)
        super().__init__(_RemoteRecording(base, self._log))
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"RemoteReceiver takes the standalone receiver's URL, such as"
                f" 'http://events-sink:8080/', not {url!r}"
            )
        self._url = url if url.endswith("/") else url + "/"
        self._control = urljoin(self._url, control_prefix)
        self._http = requests.Session()
        self._http.trust_env = False
        self._http.verify = chosen_verify(check_verify(verify))
        if chosen is not None:
            self._http.headers["Authorization"] = f"Bearer {chosen}"
        self._pull_lock = threading.Lock()
        self._cursor = 0
        self._generation: int | None = None
        try:
            self._get("health")
            self._pull(0.0)
        except ConnectionError:
            self._http.close()
            raise

    # -- the control API -------------------------------------------------------------------

    def _call(self, method: str, name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", 10.0)
        try:
            response = self._http.request(method, self._control + name, **kwargs)
        except requests.RequestException as exc:
            raise RemoteUnreachable(
                f"cannot reach the standalone receiver's control API at {self._control}: {exc}"
            ) from exc
        if response.status_code == 401:
            raise TokenRefused(
                f"the standalone receiver at {self._url} refused the token: pass"
                " token=<the serve --token value> (or set CE_TOKEN)"
            )
        if response.status_code >= 400 and name == "health":
            raise ControlAPIError(
                f"{self._control} is not the control API of a standalone receiver (it"
                f" answered {response.status_code}): point at a `pytest-cloudevents serve`"
                " (or give its control_prefix)"
            )
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text.strip()
            raise ControlAPIError(f"the standalone receiver refused {method} {name}: {message}")
        return response.json()

    def _get(self, name: str, **kwargs: Any) -> Any:
        return self._call("GET", name, **kwargs)

    def _pull(self, wait: float) -> bool:
        """Mirror what was answered since the last pull, long-polling up to `wait`
        seconds for something new; True when something arrived."""
        while True:
            with self._pull_lock:
                after = self._cursor
            doc = self._get(
                "deliveries", params={"after": after, "wait": wait}, timeout=wait + 10.0
            )
            with self._pull_lock:
                if doc["generation"] != self._generation:  # reset (by anyone): start over
                    fresh = self._generation is not None or after != 0
                    self._generation, self._cursor = doc["generation"], 0
                    DeliveryLog.clear(self._log)
                    if fresh:
                        wait = 0.0
                        continue
                if after != self._cursor or doc["next"] < after:
                    if doc["next"] < after:  # the remote log was cleared meanwhile
                        self._cursor = 0
                        DeliveryLog.clear(self._log)
                    wait = 0.0
                    continue  # someone else pulled meanwhile: pull on from where they got
                generation = self._log.generation
                for item in doc["deliveries"]:
                    self._log.settle(delivery_from_json(item), generation)
                self._cursor = doc["next"]
                if doc.get("more"):  # a page of a longer answer: pull on at once
                    wait = 0.0
                    continue
                return bool(doc["deliveries"])

    # -- what differs from a local receiver ------------------------------------------------

    @property
    def options(self) -> Options:
        """The settings in force here; `strict`, `ack_status` and `max_body` are the
        standalone receiver's own and cannot be changed from here."""
        return self.recording.options

    @options.setter
    def options(self, options: Options) -> None:
        if not isinstance(options, Options):
            raise TypeError(f"options must be an Options, not {options!r}")
        changed = sorted(n for n, v in self._fixed.items() if getattr(options, n) != v)
        if changed:
            raise NotOnRemote(
                f"a RemoteReceiver cannot change {changed} (a marker or option asked for"
                f" {', '.join(f'{n}={getattr(options, n)!r}' for n in changed)}): the"
                " standalone receiver fixes them when it starts (pytest-cloudevents serve"
                " --lax / --ack-status / --max-body)"
            )
        self.recording.options = options

    @property
    def url(self) -> str:
        """The URL producers post to."""
        return self._url

    def url_for(self, path: str = "/") -> str:
        """A URL under the standalone receiver; any path is accepted and recorded."""
        check_path(path)
        return urljoin(self._url, path.lstrip("/"))

    def inject(self, fault: Fault, *, times: int | None = None, when: When = None) -> Rule:
        """Add a fault rule in the standalone receiver. `when` must be `match(...)`
        criteria with plain values (or compiled regexes): a Python callable cannot run
        there."""
        if when is not None and not isinstance(when, Matcher):
            raise NotOnRemote(
                "a RemoteReceiver cannot run a Python predicate in the standalone receiver:"
                " give when= as match(...) criteria"
            )
        if isinstance(fault, Flaky) and fault.seed is None:
            fault = Flaky(fault.probability, fault.fault, self.options.seed)
        doc = fault_to_json(fault)
        doc["times"] = times
        doc["when"] = None if when is None else matcher_to_json(when)
        made = self._call("POST", "rules", json=doc)
        return RemoteRule(self, int(made["id"]), fault, times, when)

    def _recorded(self, credentials: bool) -> list[Delivery]:
        """What an export writes: with `credentials`, every delivery of the remote log read
        again, page by page, with its credentials shown (`credentials=show`)."""
        if not credentials:
            return super()._recorded(credentials)
        found: list[Delivery] = []
        after = 0
        while True:
            doc = self._get("deliveries", params={"after": after, "credentials": "show"})
            found += [delivery_from_json(item) for item in doc["deliveries"]]
            if not doc.get("more") or doc["next"] <= after:
                return found
            after = doc["next"]

    def handle(self, fn: Handler | None) -> None:
        """Refused: a standalone receiver cannot run Python code."""
        if fn is None:
            return
        raise NotOnRemote(
            "a RemoteReceiver cannot run a Python handler in the standalone receiver; answer"
            " with faults instead, e.g. inject(faults.reply(event)) or"
            " inject(faults.status(409), when=match(type=...))"
        )

    def reset(self) -> None:
        """Forget deliveries and rules, here and in the standalone receiver."""
        doc = self._call("POST", "reset")
        with self._pull_lock:
            super().reset()
            self._generation, self._cursor = doc["generation"], 0

    def close(self) -> None:
        """Close the connection to the control API."""
        self._http.close()

    def __repr__(self) -> str:
        return f"<RemoteReceiver {self._url}>"
