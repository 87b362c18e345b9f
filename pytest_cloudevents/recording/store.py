"""`Recording`: what a delivery is recorded into and answered by, the one interface that
hosts, the control API and the remote receiver share instead of each other's insides.

It holds the options in force, the delivery log, the fault rules, the handler, the `auth=`
check and the contracts. `LocalRecording` keeps them in this process; the remote receiver
mirrors a standalone receiver's log behind the same protocol (`remote.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, final

from pytest_cloudevents.config import Options
from pytest_cloudevents.faults.rules import RuleList
from pytest_cloudevents.recording.log import DeliveryLog

if TYPE_CHECKING:
    from pytest_cloudevents.criteria.schema import Contracts
    from pytest_cloudevents.events import CloudEvent, EventLike
    from pytest_cloudevents.faults.kinds import Plain

__all__ = ["Auth", "Handler", "LocalRecording", "Recording"]

#: A handler: called once per accepted event; None acknowledges, a CloudEvent replies,
#: a fault answers with that fault.
Handler = Callable[["CloudEvent"], "EventLike | Plain | None"]


class Auth(Protocol):
    """Who may deliver: called with the request's headers (case-insensitive), True admits.
    `runs_user_code` says whether it is the user's own function (run off the server's loop)
    or the plugin's bearer check; `challenge` is what a refused producer is told to send."""

    runs_user_code: bool
    challenge: str

    def __call__(self, headers: Mapping[str, str]) -> bool: ...


class Recording(Protocol):
    """What every host, the control API and the remote receiver read and write."""

    options: Options
    log: DeliveryLog
    rules: RuleList
    handler: Handler | None
    auth: Auth | None
    contracts: Contracts | None


@final
class LocalRecording:
    """A recording kept in this process (receivers, mocks, the standalone receiver)."""

    def __init__(
        self,
        options: Options,
        *,
        auth: Auth | None = None,
        contracts: Contracts | None = None,
        log: DeliveryLog | None = None,
        rules: RuleList | None = None,
    ) -> None:
        self.options = options
        #: the deliveries (`DeliveryLog(retain=...)` bounds them; a store keeps them on disk)
        self.log = log if log is not None else DeliveryLog()
        #: the fault rules (replicas sharing a store share them)
        self.rules = rules if rules is not None else RuleList()
        self.handler: Handler | None = None
        #: who may deliver (`Receiver(auth=...)`); None admits everyone
        self.auth = auth
        #: JSON Schemas the events' data must meet (`Receiver(schemas=...)`)
        self.contracts = contracts

    def __repr__(self) -> str:
        return f"<LocalRecording {len(self.log)} deliveries, {len(self.rules)} rules>"
