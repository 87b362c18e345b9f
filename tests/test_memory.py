"""Issue 26, memory: one request costs at most about 2x max_body at its peak, however its
body is shaped or compressed (measured with tracemalloc around the delivery app; the same
measurement `make bench` reports, from benchmarks/memory.py)."""

from __future__ import annotations

import gzip
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from memory import MIB, nested_arrays, peak_of

MAX = 10 * MIB  # the default max_body


def test_a_10_mib_json_body_of_small_nested_arrays_peaks_under_2x_max_body() -> None:
    """It peaked at +512 MiB (51x) before the value bound was checked; now its size is
    bounded before it is parsed: refused 413, costing next to nothing."""
    body = nested_arrays(MAX)
    assert len(body) > 9 * MIB
    peak = peak_of(body, MAX)
    assert peak.status == 413 and peak.codes == ["body-too-large"]
    assert peak.peak < 2 * MAX, f"it peaked at {peak.peak / MAX:.2f}x max_body"


def test_a_10_kb_gzip_of_the_same_peaks_under_2x_max_body() -> None:
    """The same body gzipped (some 15 KB) peaked at +502 MiB; inflating it now holds the
    decoded body once, and the JSON bound refuses it before parsing."""
    bomb = gzip.compress(nested_arrays(MAX))
    assert len(bomb) < 20 * 1024
    peak = peak_of(bomb, MAX, encoding="gzip")
    assert peak.status == 413 and peak.codes == ["body-too-large"]
    assert peak.peak < 2 * MAX, f"it peaked at {peak.peak / MAX:.2f}x max_body"


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_a_large_accepted_json_body_peaks_under_2x_max_body(encoding: str | None) -> None:
    """What is accepted is bounded too: a JSON string of half max_body, sent plain or
    gzipped, is recorded within the bound."""
    body = b'"' + b"x" * (MAX // 2) + b'"'
    sent = body if encoding is None else gzip.compress(body)
    peak = peak_of(sent, MAX, encoding=encoding)
    assert peak.status == 202, peak.codes
    assert peak.peak < 2 * MAX, f"it peaked at {peak.peak / MAX:.2f}x max_body"


def test_a_multi_member_gzip_body_is_decoded_in_full() -> None:
    """A gzip body of two members was cut to its first one silently (RFC 1952 allows
    several): every member is decoded."""
    body = gzip.compress(b'{"a": ') + gzip.compress(b"1}")
    peak = peak_of(body, MIB, encoding="gzip")
    assert peak.status == 202, peak.codes


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(b'{"a": 1}') + b"trailing garbage", "gzip"),
        (zlib.compress(b'{"a": 1}') + b"\x00", "deflate"),
    ],
    ids=["gzip", "deflate"],
)
def test_trailing_garbage_after_the_compressed_stream_is_refused(
    body: bytes, encoding: str
) -> None:
    """Bytes after the last gzip member (or the deflate stream) were accepted; they are
    invalid-encoding now, with what follows the stream named."""
    peak = peak_of(body, MIB, encoding=encoding)
    assert peak.status == 400 and peak.codes == ["invalid-encoding"]
