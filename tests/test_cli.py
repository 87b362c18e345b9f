"""The console script: `serve` in real subprocesses (start, signals, clean exit, no leak,
the token) and `check` scoring a permissive and a strict consumer."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from helpers import binary
from standalone import Served, serve

from pytest_cloudevents import Receiver
from pytest_cloudevents.cli import main

ROOT = Path(__file__).resolve().parent.parent


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].strip("/"))


def test_serve_prints_its_url_first_records_and_stops_cleanly_on_sigterm() -> None:
    served = serve()
    assert served.url.startswith("http://127.0.0.1:")
    assert requests.post(served.url, headers=binary(), data=b"{}").status_code == 202
    doc = requests.get(served.url + "_ce/deliveries").json()
    assert [d["events"][0]["id"] for d in doc["deliveries"]] == ["evt-1"]
    assert served.stop() == 0


def test_serve_stops_cleanly_on_ctrl_c() -> None:
    served = serve()
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(10) == 0
    assert served.process.stdout is not None and "stopped" in served.process.stdout.read()
    served.stop()


@pytest.mark.once
def test_serve_started_and_stopped_50_times_leaves_nothing_behind() -> None:
    """Ten rounds of five at once: each exits 0 and its port can be bound again."""
    ports: list[int] = []
    for _ in range(10):
        batch: list[Served] = [serve() for _ in range(5)]
        for served in batch:
            assert requests.get(served.url + "_ce/health", timeout=5).status_code == 200
        for served in batch:
            assert served.stop() == 0
            ports.append(port_of(served.url))
    assert len(ports) == 50
    for port in ports[-5:]:
        with socket.create_server(("127.0.0.1", port)):  # released: binds again
            pass


def test_serve_refuses_a_port_it_cannot_bind() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "pytest_cloudevents", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_serve_with_auth_refuses_the_control_api_without_the_token() -> None:
    served = serve("--auth", "t0ken")
    try:
        assert requests.get(served.url + "_ce/rules").status_code == 401
        ok = requests.get(served.url + "_ce/rules", headers={"Authorization": "Bearer t0ken"})
        assert ok.status_code == 200
    finally:
        assert served.stop() == 0


def test_the_module_and_the_script_have_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_cloudevents", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "serve" in done.stdout and "check" in done.stdout


# -- check -------------------------------------------------------------------------------


@pytest.fixture
def payments_url() -> Iterator[str]:
    """examples/payments' consumer (built on the cloudevents 2.x SDK) on a socket."""
    pytest.importorskip("cloudevents.core", reason="the payments example needs cloudevents 2.x")
    from werkzeug.serving import make_server

    sys.path.insert(0, str(ROOT / "examples" / "payments"))
    try:
        from payment_service import app  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join()


def test_check_fails_an_sdk_consumer_naming_the_rules_it_lets_through(
    payments_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", payments_url]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "rules the consumer lets through:" in out
    assert "missing-id" in out.split("rules the consumer lets through:")[1]
    assert "ok   valid-binary" in out
    # the binding forbids unsolicited batches: a consumer without batch support is not
    # failed for it unless --batch asks
    assert "valid-batch" not in out and "batch-not-an-array" not in out
    assert main(["check", payments_url, "--batch"]) == 1
    assert "FAIL valid-batch" in capsys.readouterr().out


def test_check_passes_a_strict_consumer_and_speaks_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Receiver() as strict:
        assert main(["check", strict.url]) == 0
        assert capsys.readouterr().out.rstrip().endswith("PASSED")
        strict.reset()
        assert main(["check", strict.url, "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["passed"] is True and doc["failures"] == 0
        rules = {row["rule"] for row in doc["rows"]}
        assert "valid" in rules and "missing-id" in rules
        # every message of the kit arrived: the valid ones, and each malformed one refused
        assert len(strict.deliveries) == len(doc["rows"])
        strict.reset()  # the rejections are the point: nothing for the after-test check


def test_check_of_an_unreachable_consumer_ends_with_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """0.2 printed the same connection error once per case (35 times)."""
    assert main(["check", "http://127.0.0.1:1/", "--timeout", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "cannot reach http://127.0.0.1:1/" in err
    assert "Connection refused" in err or "ConnectionError" in err


def test_check_refuses_a_malformed_header_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "http://127.0.0.1:1/", "--header", "no colon"]) == 2
    assert "'Name: value'" in capsys.readouterr().err


def test_check_sends_the_given_headers() -> None:
    with Receiver() as strict:
        assert main(["check", strict.url, "-H", "Authorization: Bearer x"]) == 0
        assert {d.headers.get("authorization") for d in strict.deliveries} == {"Bearer x"}
        strict.reset()
