"""A service started once per module, in its own process, with the session receiver's
URL (`ce_session_receiver.url`, as `$K_SINK`); each test still gets a clean `ce_receiver`
(the same server, reset before the test and checked after it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEARTBEAT = Path(__file__).with_name("heartbeat.py")


@pytest.fixture(scope="module")
def heartbeats(ce_session_receiver):
    env = {**os.environ, "K_SINK": ce_session_receiver.url, "PERIOD": "0.05", "LABEL": "demo"}
    process = subprocess.Popen([sys.executable, str(HEARTBEAT)], env=env)
    yield process
    process.terminate()
    process.wait(timeout=10)


def sequence(event):
    return int(event.get_attributes()["sequence"])


def test_heartbeats_arrive(heartbeats, ce_receiver):
    events = ce_receiver.wait_for(type="dev.knative.sources.heartbeat", count=3, timeout=10)
    assert [e.get_data()["label"] for e in events] == ["demo"] * 3


def test_sequence_numbers_grow(heartbeats, ce_receiver):
    first, second = ce_receiver.wait_for(type="dev.knative.sources.heartbeat", count=2, timeout=10)
    assert sequence(second) == sequence(first) + 1
