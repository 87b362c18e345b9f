"""`pytest-cloudevents probe`: a paced stream of numbered events, and the report of what
arrived, against a receiver, a lossy receiver and a pipeline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from standalone import serve

from pytest_cloudevents import Receiver, Standalone, faults
from pytest_cloudevents.cli import main
from pytest_cloudevents.probe import probe

#: SDK-independent (the prober drives serve processes over HTTP): not in every SDK session
pytestmark = pytest.mark.once


def test_a_probe_of_a_receiver_finds_nothing_missing_or_duplicated() -> None:
    served = serve()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest_cloudevents",
                "probe",
                served.url,
                "--rate",
                "100",
                "--duration",
                "2",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (report["sent"], report["received"]) == (200, 200)
        assert (report["missing"], report["duplicated"], report["out_of_order"]) == (0, 0, 0)
        assert report["statuses"] == {"202": 200}
        assert report["send_latency_ms"]["p50"] > 0 and report["end_to_end_ms"]["max"] >= 0
        assert report["achieved_rate"] > 50  # paced near the rate asked for
    finally:
        assert served.stop() == 0


def test_the_losses_of_a_flaky_disconnect_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with Standalone() as receiver:
        receiver.inject(faults.flaky(0.25, faults.disconnect(), seed=7))
        assert (
            main(["probe", receiver.url, "--rate", "200", "--duration", "1", "--settle", "0.2"])
            == 1
        )
        out = capsys.readouterr().out
        report = probe(receiver.url, rate=200, duration=0.5, settle=0.2)
    lost = report.statuses["none"]
    assert lost > 0 and len(report.missing) == lost and report.received == report.sent - lost
    assert not report.lossless and not report.duplicated
    assert "no response" in out and "missing sequence numbers:" in out


def test_a_probe_of_a_pipeline_reads_its_end() -> None:
    with Standalone() as end, Receiver(forward=end.url) as hop:
        hop.inject(faults.status(503), times=3)  # the hop refuses three: they never arrive
        report = probe(hop.url, rate=100, duration=0.5, receiver=end.url, settle=0.5)
    assert report.sent == 50 and report.statuses["503"] == 3
    assert len(report.missing) == 3 and report.received == 47 and not report.duplicated


def test_wrong_arguments_and_an_unreadable_receiver_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Standalone() as receiver:
        assert main(["probe", receiver.url, "--rate", "0"]) == 2
        assert "rate is events per second" in capsys.readouterr().err
    with Receiver() as plain:  # no control API to read
        assert main(["probe", plain.url, "--duration", "0.1"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("pytest-cloudevents probe:") and err.count("\n") == 1
