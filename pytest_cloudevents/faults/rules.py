"""Injected faults: a `Rule` (a fault, its `times` and its `when`), and the `RuleList` that
picks the rule answering a delivery."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from pytest_cloudevents.criteria.match import Matcher
from pytest_cloudevents.faults.kinds import Fault, Flaky, is_fault
from pytest_cloudevents.validate import check_whole

if TYPE_CHECKING:
    from pytest_cloudevents.events import CloudEvent


class Judged(Protocol):
    """What a rule looks at: a delivery (`recording.Delivery`) with its events."""

    @property
    def events(self) -> list[CloudEvent]: ...


__all__ = ["Judged", "Rule", "RuleList", "When"]

#: A rule's condition: `match(...)` against the delivery's events, or a predicate on the
#: `Delivery` itself (typed `Any` here: faults sit below the recording).
When = Matcher | Callable[[Any], bool] | None


class Rule:
    """An injected fault with its remaining uses and its condition.

    `hits` counts the deliveries it answered; `times=None` means unlimited; `ident` is its
    number in its list (the control API's rule id).
    """

    ident: int = 0

    def __init__(self, fault: Fault, times: int | None, when: When) -> None:
        if not is_fault(fault):
            raise TypeError(f"inject takes a fault from pytest_cloudevents.faults, not {fault!r}")
        if times is not None:
            check_whole("times (None for unlimited)", times, minimum=1)
        if when is not None and not callable(when) and not isinstance(when, Matcher):
            raise TypeError(f"when must be match(...) or a predicate on the Delivery, not {when!r}")
        self.fault = fault
        self.times = times
        self.when = when
        self.hits = 0

    def applies_to(self, delivery: Judged) -> bool:
        """True when `when` holds for the delivery (any of its events, for a match)."""
        if self.when is None:
            return True
        if isinstance(self.when, Matcher):
            return any(self.when.matches(e) for e in delivery.events)
        return bool(self.when(delivery))

    @property
    def exhausted(self) -> bool:
        """True once `times` uses are spent."""
        return self.times is not None and self.hits >= self.times

    def __repr__(self) -> str:
        return f"Rule({self.fault.name}, times={self.times}, hits={self.hits})"


class RuleList:
    """Rules in injection order; `pick` applies the first that fits, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._idents = itertools.count(1)
        #: no rule was injected since the last clear (read by every delivery: an attribute)
        self.empty = True

    def add(self, fault: Fault, times: int | None, when: When, seed: int) -> Rule:
        """Append a rule; a `flaky` fault without a seed takes `seed`."""
        if isinstance(fault, Flaky):
            chosen = fault.seed if fault.seed is not None else seed
            fault = replace(fault, seed=chosen, _rng=random.Random(chosen))
        rule = Rule(fault, times, when)
        with self._lock:
            rule.ident = next(self._idents)
            self._rules.append(rule)
            self.empty = False
        return rule

    def pick(self, delivery: Judged) -> Fault | None:
        """The fault for this delivery, using one of its rule's `times`; None for none.

        `when` predicates run outside the list's lock (they may call back into the
        receiver); whatever they raise propagates. A flaky draw that does not fire counts
        as a rule that did not match.
        """
        if not self._rules:  # no rule injected: nothing to lock for
            return None
        with self._lock:
            rules = list(self._rules)
        for rule in rules:
            if rule.exhausted or not rule.applies_to(delivery):
                continue
            fault = self._claim(rule)
            if fault is not None:
                return fault
        return None

    def _claim(self, rule: Rule) -> Fault | None:
        """Use one of `times` of a rule that fits: its fault, or None when it was used up
        or cleared meanwhile, or a flaky draw did not fire."""
        with self._lock:
            if rule.exhausted or rule not in self._rules:
                return None
            fault = rule.fault
            if isinstance(fault, Flaky):
                if not fault.draw():
                    return None
                fault = fault.fault
            rule.hits += 1
            return fault

    def snapshot(self) -> list[Rule]:
        """The rules, in injection order."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()
            self.empty = True

    def __len__(self) -> int:
        return len(self._rules)  # one read of a list: no lock needed (every delivery asks)
