"""Issue 26: `decode` fuzzed directly, with hypothesis and with atheris (coverage-guided),
under warnings-as-errors: it returns a verdict for every input and never raises (a lone
surrogate in `data` raised UnicodeEncodeError; `charset=unicode_escape` raised a
DeprecationWarning under `-W error`). Bounded here; `make fuzz` runs atheris longer."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_cloudevents.wire import decode

ROOT = Path(__file__).resolve().parent.parent
VALID = {"ce-specversion": "1.0", "ce-id": "f-1", "ce-source": "/fuzz", "ce-type": "com.x.f"}
CHARSETS = [
    "utf-8",
    "utf-16",
    "unicode_escape",
    "raw_unicode_escape",
    "utf-7",
    "punycode",
    "idna",
    "rot13",
    "base64",
    "latin-1",
    "undefined",
    "\x00",
    "zlib",
]
TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/cloudevents+json",
            "application/cloudevents-batch+json",
            "application/octet-stream",
            "",
        ]
    ),
    st.text(max_size=30),
)
# text with lone surrogates and control characters, as a JSON string can carry them
ODD_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)


def _quiet_decode(headers: dict[str, str], body: bytes, strict: bool, max_body: int | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded = decode(headers, body, strict=strict, max_body=max_body)
    assert decoded.ok == (not decoded.violations)
    if not decoded.ok:
        assert all(v.code and v.message for v in decoded.violations)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content_type=TYPES,
    charset=st.one_of(st.none(), st.sampled_from(CHARSETS)),
    body=st.one_of(
        st.binary(max_size=300), ODD_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
    ),
    strict=st.booleans(),
    max_body=st.sampled_from([None, 16, 4096]),
    valid=st.booleans(),
)
def test_binary_mode_decode_never_raises_under_warnings_as_errors(
    content_type: str,
    charset: str | None,
    body: bytes,
    strict: bool,
    max_body: int | None,
    valid: bool,
) -> None:
    headers = dict(VALID) if valid else {}
    headers["content-type"] = content_type + (f"; charset={charset}" if charset else "")
    _quiet_decode(headers, body, strict, max_body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    member=st.sampled_from(["data", "id", "time", "datacontenttype", "data_base64", "x", "source"]),
    value=st.one_of(ODD_TEXT, st.integers(), st.floats(allow_nan=False), st.none()),
    datacontenttype=st.one_of(
        st.none(), TYPES, st.sampled_from([f"text/plain; charset={c}" for c in CHARSETS])
    ),
    specversion=st.sampled_from(["1.0", "0.3", "2", ""]),
    batch=st.booleans(),
    strict=st.booleans(),
)
def test_structured_and_batch_decode_never_raises_under_warnings_as_errors(
    member: str,
    value: object,
    datacontenttype: str | None,
    specversion: str,
    batch: bool,
    strict: bool,
) -> None:
    doc: dict[str, object] = {k[3:]: v for k, v in VALID.items()}
    doc["specversion"] = specversion
    if datacontenttype is not None:
        doc["datacontenttype"] = datacontenttype
    doc[member] = value
    text = json.dumps([doc] if batch else doc)  # lone surrogates become \\udcxx escapes
    kind = "cloudevents-batch+json" if batch else "cloudevents+json"
    _quiet_decode({"content-type": f"application/{kind}"}, text.encode(), strict, 1 << 20)


@pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris is not installed (the dev extra installs it where it builds: Linux,"
    " CPython < 3.13)",
)
def test_decode_survives_a_bounded_atheris_run(tmp_path: Path) -> None:
    """A coverage-guided run of fuzz/decode_target.py (libFuzzer), bounded in runs and
    time; a crash leaves its input in tmp_path."""
    run = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            str(ROOT / "fuzz" / "decode_target.py"),
            "-runs=20000",
            "-max_len=2048",
            "-max_total_time=60",
            "-seed=1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert run.returncode == 0 and not crashes, run.stderr[-3000:]
    assert "Done 20000 runs" in run.stderr
