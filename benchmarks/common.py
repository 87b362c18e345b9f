"""What every benchmark shares: the message posted, pairing and reporting."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import requests

HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "bench-1",
    "ce-source": "/bench",
    "ce-type": "com.example.bench",
    "content-type": "application/json",
}
BODY = json.dumps({"order_id": "o-1", "total": 12.5, "items": ["a", "b", "c"]}).encode()
RESULTS: list[dict[str, Any]] = []
RANGES: list[tuple[float, float]] = []  # the per-round ratio range of the last paired()


def paired(
    ours: Callable[[], float], baseline: Callable[[], float], rounds: int
) -> tuple[float, float, float]:
    """Alternate short rounds of ours and the baseline (each round flips which goes first);
    return the median of each and the median of the per-round ratios (machine noise moves
    both members of a round alike), and print the ratios' range."""
    mine, theirs, ratios = [], [], []
    for i in range(rounds):
        if i % 2 == 0:
            a, b = ours(), baseline()
        else:
            b = baseline()
            a = ours()
        mine.append(a)
        theirs.append(b)
        ratios.append(a / b)
    RANGES.append((min(ratios), max(ratios)))
    return statistics.median(mine), statistics.median(theirs), statistics.median(ratios)


def report(
    name: str,
    ours: float,
    baseline: float,
    unit: str,
    target: str,
    better: str,
    ratio: float | None = None,
) -> None:
    """Print one figure; `better` is "higher" or "lower" (for the ratio's reading)."""
    if ratio is None:
        ratio = ours / baseline if baseline else float("nan")
    verdict = judge(target, ours, ratio)
    RESULTS.append(
        {
            "name": name,
            "ours": ours,
            "baseline": baseline,
            "ratio": ratio,
            "unit": unit,
            "target": target,
            "verdict": verdict,
        }
    )
    spread = ""
    if RANGES:
        low, high = RANGES.pop()
        spread = f", range {low:.2f}-{high:.2f}"
    print(
        f"{name}\n  ours {ours:,.3f} {unit}, baseline {baseline:,.3f} {unit}, ratio {ratio:.2f}{spread} ({better} is better; target {target}) {verdict}"
    )


def judge(target: str, ours: float, ratio: float) -> str:
    """PASS or MISS for a target written as "ratio >= 0.8", "<= 5 ms", "< 2x max_body";
    "(reported)" for any other (a figure with no target)."""
    import re

    found = re.search(r"(ratio\s*)?(<=|>=|<|>)\s*([0-9.]+)", target)
    if found is None:
        return "(reported)"
    value = ratio if found.group(1) else ours
    bound = float(found.group(3))
    ok = {"<=": value <= bound, ">=": value >= bound, "<": value < bound, ">": value > bound}
    return "PASS" if ok[found.group(2)] else "MISS"


def session_rate(url: str, n: int, verify: str | bool = True) -> float:
    """Posts per second of `n` events over one keep-alive requests.Session."""
    with requests.Session() as session:
        started = time.perf_counter()
        for i in range(n):
            session.post(url, headers=dict(HEADERS, **{"ce-id": str(i)}), data=BODY, verify=verify)
        return n / (time.perf_counter() - started)
