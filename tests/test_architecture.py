"""The layout DESIGN.md fixes: small modules, no import cycles, `wire/` knows no host, and
only `events.py` imports the SDK's event classes."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_cloudevents"


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """The modules `name` imports (absolute names), at module level or in functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = node.module or ""
            target = (f"{base}.{module}" if module else base) if node.level else module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def internal_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {m for m in imports(name, path) if m in mods} for name, path in mods.items()}


def test_the_import_graph_has_no_cycles() -> None:
    graph = internal_graph()
    # a package imports its own submodules to re-export them: not a cycle
    edges = {
        n: {m for m in deps if m != n and not m.startswith(n + ".")} for n, deps in graph.items()
    }
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_wire_knows_no_host_and_no_pytest() -> None:
    for name, path in modules().items():
        if not name.startswith("pytest_cloudevents.wire"):
            continue
        found = imports(name, path)
        forbidden = {
            m
            for m in found
            if m.split(".")[0] in ("pytest", "werkzeug", "requests", "h11", "aiohttp")
            or m.startswith(
                tuple(
                    f"pytest_cloudevents.{x}"
                    for x in ("app", "server", "receiver", "sink", "mock", "plugin", "client")
                )
            )
        }
        assert forbidden == set(), name


def test_only_the_events_module_imports_the_sdk_event_classes() -> None:
    for name, path in modules().items():
        event_classes = {
            m
            for m in imports(name, path)
            if m.startswith(("cloudevents.core.v1", "cloudevents.core.v03", "cloudevents.http"))
            or m.startswith("cloudevents.v1")
        }
        if name != "pytest_cloudevents.events":
            assert event_classes == set(), name


def test_the_mock_does_not_import_the_server() -> None:
    graph = internal_graph()
    for name, deps in graph.items():
        if name.startswith("pytest_cloudevents.hosts.mock"):
            assert not any(d.startswith("pytest_cloudevents.hosts.server") for d in deps), name
            assert not any(d.startswith("pytest_cloudevents.hosts.receiver") for d in deps), name
