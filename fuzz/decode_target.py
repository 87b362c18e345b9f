"""Coverage-guided fuzzing of `decode` with atheris (libFuzzer): any headers and body, in
strict and lax mode, with and without `max_body`, under warnings-as-errors. `decode` must
return a verdict for every input and never raise.

    python fuzz/decode_target.py -runs=3000          # what the suite runs
    make fuzz                                        # longer: FUZZ_SECONDS (default 300)

Inputs that crash it are written to the current directory as `crash-*` (libFuzzer's own
naming); run the script with such a file as its argument to replay it.
"""

from __future__ import annotations

import sys
import warnings

import atheris

with atheris.instrument_imports():
    import pytest_cloudevents.events
    import pytest_cloudevents.spec.rules
    import pytest_cloudevents.spec.syntax
    import pytest_cloudevents.wire.binding
    import pytest_cloudevents.wire.jsonformat
    import pytest_cloudevents.wire.jsontext  # noqa: F401 (instrumented)
    from pytest_cloudevents.wire import decode

NAMES = [
    "ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-subject",
    "ce-dataschema", "ce-x", "ce-bad_name", "content-type", "content-encoding",
]  # fmt: skip
TYPES = [
    "application/json", "application/cloudevents+json", "application/cloudevents-batch+json",
    "text/plain; charset=utf-16", "text/plain; charset=unicode_escape", "application/json;"
    " charset=utf-7", "application/octet-stream", "application/xml; charset=latin-1", "",
]  # fmt: skip


VALID = {"ce-specversion": "1.0", "ce-id": "f-1", "ce-source": "/fuzz", "ce-type": "com.x.f"}


def _structured(fdp: atheris.FuzzedDataProvider) -> bytes:
    """A structured-mode body: valid members, and one member of fuzzed text (lone
    surrogates included), escaped as JSON allows."""
    member = fdp.PickValueInList(["data", "id", "time", "datacontenttype", "data_base64", "x"])
    value = fdp.ConsumeUnicode(32)
    members = [f'"{k[3:]}": "{v}"' for k, v in VALID.items()]
    escaped = "".join(c if c.isalnum() else f"\\u{ord(c):04x}" for c in value)
    members.append(f'"{member}": "{escaped}"')
    return ("{" + ", ".join(members) + "}").encode()


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    headers: dict[str, str] = dict(VALID) if fdp.ConsumeBool() else {}
    for _ in range(fdp.ConsumeIntInRange(0, 8)):
        name = fdp.PickValueInList(NAMES) if fdp.ConsumeBool() else fdp.ConsumeUnicode(8)
        value = fdp.PickValueInList(TYPES) if fdp.ConsumeBool() else fdp.ConsumeUnicode(24)
        headers[name] = value
    strict = fdp.ConsumeBool()
    max_body = fdp.PickValueInList([None, 64, 4096])
    if fdp.ConsumeBool():
        headers["content-type"] = fdp.PickValueInList(TYPES[1:3]) + fdp.ConsumeUnicode(12)
        body = _structured(fdp)
    else:
        body = fdp.ConsumeBytes(fdp.remaining_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded = decode(headers, body, strict=strict, max_body=max_body)
    assert decoded.ok == (not decoded.violations)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
