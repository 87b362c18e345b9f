"""Standalone receivers (`python -m pytest_cloudevents serve`) in subprocesses, for the
tests that drive one over its control API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Served", "serve"]


@dataclass
class Served:
    """A running `serve` process and the URL it printed."""

    process: subprocess.Popen[str]
    url: str

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait for the clean exit; returns the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def serve(*args: str, extra: Sequence[str] = ()) -> Served:
    """Start `serve --port 0 ARGS` and wait for its `listening on URL` line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_cloudevents", "serve", "--port", "0", *args, *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # blocks until serve prints it (or exits)
    if not first.startswith("listening on "):
        process.kill()
        process.wait(10)
        raise RuntimeError(f"serve did not start: {first!r}")
    process.stdout.readline()  # the control API line
    return Served(process, first.removeprefix("listening on ").strip())
