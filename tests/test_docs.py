"""Every ```python block of the README and docs/ runs, as written, as a test module."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import requests  # noqa: F401  (shared with pytester's in-process runs)
from standalone import serve

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for number, match in enumerate(BLOCK.finditer(doc.read_text(encoding="utf-8")), 1):
            found.append((f"{doc.relative_to(ROOT)}#{number}", match.group(1)))
    return found


def test_the_docs_have_code_to_run() -> None:
    names = [name for name, _ in blocks()]
    assert sum(name.startswith("README.md") for name in names) >= 5
    assert any(name.startswith("docs/") for name in names)


@pytest.mark.parametrize(("name", "code"), blocks(), ids=[name for name, _ in blocks()])
def test_a_code_block_of_the_docs_passes(pytester: pytest.Pytester, name: str, code: str) -> None:
    pytester.makepyfile(test_block=code)
    result = pytester.runpytest("-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, f"{name} ran no test:\n{result.stdout.str()}"
    assert result.ret == 0, f"{name} failed:\n{result.stdout.str()}"


CONSOLE = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)


def curl_commands() -> list[str]:
    text = (ROOT / "docs" / "control-api.md").read_text(encoding="utf-8")
    return [
        line.removeprefix("$ ")
        for block in CONSOLE.findall(text)
        for line in block.splitlines()
        if line.startswith("$ curl")
    ]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the control API docs use curl")
def test_every_curl_command_of_the_control_api_docs_works() -> None:
    """Each command, in the order the docs give them, against a live `serve`: a 2xx answer
    (the stream's is cut by its own --max-time)."""
    commands = curl_commands()
    assert len(commands) >= 12
    served = serve()
    try:
        for command in commands:
            argv = shlex.split(command.replace("http://127.0.0.1:8080", served.url.rstrip("/")))
            done = subprocess.run(
                [*argv, "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=30
            )
            status = done.stdout.rsplit("\n", 1)[-1]
            if "--max-time" in argv:
                assert done.returncode == 28 and status == "200", command  # timed out, as meant
                continue
            assert done.returncode == 0 and status.startswith("2"), (command, done.stdout)
    finally:
        assert served.stop() == 0


def test_the_reference_lists_every_code_with_its_version() -> None:
    """docs/reference.md's "Codes" table is the code's `CODES`, row for row."""
    from pytest_cloudevents.spec.codes import CODES

    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`"): [c.strip() for c in line.split("|")[2:6]]
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 6
    }
    expected = {
        name: [code.level.value, code.kind, str(code.status), code.version]
        for name, code in CODES.items()
    }
    assert {k: v for k, v in rows.items() if k in CODES} == expected
