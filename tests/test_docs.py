"""Every ```python block of the README and docs/ runs, as written, as a test module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests  # noqa: F401  (shared with pytester's in-process runs)

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
