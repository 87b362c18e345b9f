"""The one sync and the one async driver of a delivery: what `DeliveryApp.deliver` gives, its
`Answer` at once or a generator of `Hold`s that returns the `Answer`. Every host runs a
delivery through these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator

from pytest_cloudevents.delivery.exchange import Answer, Hold, HoldEnd

__all__ = ["Delivering", "Started", "advance", "drive", "drive_async"]

Delivering = Generator[Hold, HoldEnd, Answer]
#: What `DeliveryApp.deliver` gives: the answer, or the steps that may hold.
Started = Answer | Delivering


def advance(steps: Delivering, value: HoldEnd | None) -> Hold | Answer:
    """One step of a delivery: the next `Hold`, or the final `Answer` (None starts it)."""
    try:
        return steps.send(value)  # type: ignore[arg-type]  # None starts the generator
    except StopIteration as done:
        answer: Answer = done.value
        return answer


def drive(steps: Started, hold: Callable[[Hold], HoldEnd]) -> Answer:
    """Run a delivery to its answer, blocking in `hold` wherever a delay holds it."""
    if isinstance(steps, Answer):
        return steps
    step = advance(steps, None)
    while isinstance(step, Hold):
        step = advance(steps, hold(step))
    return step


async def drive_async(
    steps: Started,
    hold: Callable[[Hold], Awaitable[HoldEnd]],
    *,
    first: Hold | Answer | None = None,
    run: Callable[[Delivering, HoldEnd | None], Awaitable[Hold | Answer]] | None = None,
) -> Answer:
    """Run a delivery to its answer, awaiting `hold` wherever a delay holds it. `first` is
    a step already taken; `run` takes each step elsewhere (the server's pool, when the
    delivery runs user code), else steps run inline."""
    if isinstance(steps, Answer):
        return steps
    step = first
    value: HoldEnd | None = None
    while True:
        if isinstance(step, Answer):
            return step
        if isinstance(step, Hold):
            value = await hold(step)
        step = advance(steps, value) if run is None else await run(steps, value)
