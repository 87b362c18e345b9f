"""A heartbeat source in the style of Knative's ContainerSource: a separate process that
POSTs a `dev.knative.sources.heartbeat` event to `$K_SINK` every `$PERIOD` seconds, with
a growing sequence number. Standard library only, as in a minimal container."""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid


def beat(sink: str, sequence: int) -> None:
    """Send one heartbeat in binary mode; a refused or failed one is skipped."""
    request = urllib.request.Request(
        sink,
        data=json.dumps({"sequence": sequence, "label": os.environ.get("LABEL", "")}).encode(),
        method="POST",
        headers={
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-source": "/heartbeats",
            "ce-type": "dev.knative.sources.heartbeat",
            "ce-sequence": str(sequence),
            "content-type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=2):
            pass
    except OSError:
        pass


def main() -> None:
    sink, period = os.environ["K_SINK"], float(os.environ.get("PERIOD", "1"))
    sequence = 0
    while True:
        sequence += 1
        beat(sink, sequence)
        time.sleep(period)


if __name__ == "__main__":
    main()
