"""`Standalone`: a `Receiver` with the control API and the live page mounted."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, final

from pytest_cloudevents.config import default
from pytest_cloudevents.control_protocol import RuleForm, StoredForm
from pytest_cloudevents.delivery.access import check_token
from pytest_cloudevents.faults.rules import RuleList
from pytest_cloudevents.hosts.receiver import Receiver
from pytest_cloudevents.hosts.standalone.api import ControlAPI
from pytest_cloudevents.recording.log import DeliveryLog
from pytest_cloudevents.validate import check_bool

if TYPE_CHECKING:
    from pytest_cloudevents.hosts.server.mount import Mount

__all__ = ["Standalone"]


@final
class Standalone(Receiver):
    """The receiver `pytest-cloudevents serve` runs: the same application, with the
    control API under `control_prefix` (requests there are never recorded).

    - `token`: the control API's token (a non-empty string; an empty one is refused, never
      read as "open");
    - `allow_hosts`: more names the control API answers for (beside loopback and the bind
      and advertised hosts): a request with any other `Host` is refused (DNS rebinding). A
      receiver bound to every interface (`0.0.0.0`, `::`) answers any Host unless names
      are given;
    - `show_credentials`: show producers' credentials (`Authorization`, `aeg-sas-key`,
      cookies, headers named `*token*` / `*key*`) in the page and the control API's JSON
      instead of `<redacted>`;
    - `store`: where the log is kept besides memory: an SQLite file (`sqlite:///path.db`,
      or a plain path: a restart reads back what it held) or a PostgreSQL database
      (`postgresql://...`, extra `postgres`: every replica given the same one shares the
      log and the fault rules); None keeps it in memory only.
    """

    def __init__(
        self,
        *,
        control_prefix: str = "/_ce/",
        token: str | None = None,
        allow_hosts: Iterable[str] = (),
        show_credentials: bool = False,
        store: str | None = None,
        **kwargs: Any,
    ) -> None:
        if store is not None and (not isinstance(store, str) or not store):
            raise TypeError(
                "store takes an SQLite path (sqlite:///var/ce.db) or a PostgreSQL URL"
                f" (postgresql://user@host/db), not {store!r}"
            )
        self._store = store
        self._prefix = control_prefix
        self._token = None if token is None else check_token(token, "token")
        if isinstance(allow_hosts, str) or not all(isinstance(h, str) for h in allow_hosts):
            raise TypeError(
                f"allow_hosts takes host names, such as ['events.local'], not {allow_hosts!r}"
            )
        self._hosts = _own_hosts(
            kwargs.get("host", default("host")), kwargs.get("advertise_host"), list(allow_hosts)
        )
        self._show_credentials = check_bool("show_credentials", show_credentials)
        super().__init__(**kwargs)

    def _stores(
        self, retain: int | None, retain_bytes: int | None
    ) -> tuple[DeliveryLog, RuleList | None]:
        store = self._store
        if store is None:
            return super()._stores(retain, retain_bytes)
        if store.startswith(("postgresql://", "postgres://")):
            from pytest_cloudevents.recording.postgres import PostgresLog

            log = PostgresLog(
                store,
                StoredForm(),
                RuleForm(),
                retain=retain,
                retain_bytes=retain_bytes,
                on_error=_said,
            )
            return log, log.rules
        from pytest_cloudevents.recording.persist import SQLiteLog, sqlite_path

        sqlite = SQLiteLog(
            sqlite_path(store),
            StoredForm(),
            retain=retain,
            retain_bytes=retain_bytes,
            on_error=_said,
        )
        return sqlite, None

    def _mount(self) -> Mount | None:
        self.control = ControlAPI(
            self,
            prefix=self._prefix,
            token=self._token,
            hosts=self._hosts,
            show_credentials=self._show_credentials,
        )
        return self.control

    @property
    def control_url(self) -> str:
        """The URL of the control API (and of the page)."""
        return self.url_for(self._prefix)

    def __repr__(self) -> str:
        return f"<Standalone receiver {self.url}>"


def _said(exc: BaseException) -> None:
    """A store's write failed: said on stderr (the receiver goes on from memory)."""
    print(f"pytest-cloudevents serve: the store could not be written: {exc}", file=sys.stderr)


_WILDCARD: Final[frozenset[str]] = frozenset({"0.0.0.0", "::", ""})
_LOOPBACK: Final[frozenset[str]] = frozenset({"localhost", "127.0.0.1", "[::1]"})


def _own_hosts(host: object, advertise: object, allowed: list[str]) -> frozenset[str] | None:
    """The names the control API answers for; None (any) for a wildcard bind without
    `allow_hosts`."""
    names = {h.strip().lower() for h in allowed if h.strip()}
    if host in _WILDCARD and not names:
        return None
    for given in (host, advertise):
        if isinstance(given, str) and given not in _WILDCARD:
            name = given.lower()
            names.add(f"[{name}]" if ":" in name and not name.startswith("[") else name)
    return frozenset(names | _LOOPBACK)
