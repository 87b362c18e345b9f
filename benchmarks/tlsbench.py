"""TLS throughput: events per second through an HTTPS receiver against a plain HTTP one,
over a keep-alive requests.Session (no target: the figure is reported)."""

from __future__ import annotations

from common import paired, report, session_rate

from pytest_cloudevents import Receiver


def tls_rate(n: int = 300, rounds: int = 15) -> None:
    with Receiver(tls=True) as secure, Receiver() as plain:

        def ours() -> float:
            secure.reset()
            return session_rate(secure.url, n, secure.ca_bundle)

        def baseline() -> float:
            plain.reset()
            return session_rate(plain.url, n, True)

        mine, theirs, ratio = paired(ours, baseline, rounds)
    report(
        f"events per second over HTTPS vs plain HTTP (keep-alive Session), {rounds} paired"
        f" rounds of {n}",
        mine,
        theirs,
        "events/s",
        "reported (no target)",
        "higher",
        ratio,
    )
