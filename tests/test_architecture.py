"""The house DESIGN.md lays out, checked on the code: rooms on floors with arrows that run
one way (top to bottom), the arrows that must never exist, no import cycles, `wire/` knowing
no host, only `events.py` touching an SDK event, and no room reading another room's
`_private` attributes. Imports are read with `ast` (module level, in functions and under
`TYPE_CHECKING`), and `importlib.import_module("pytest_cloudevents...")` calls count as
imports."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_cloudevents"
TOP = "pytest_cloudevents"

#: Each room's floor: a room may import rooms on lower floors (and its own room); the
#: `base` rooms are importable from anywhere and import only other base rooms.
FLOORS: dict[str, int] = {
    # the facades: the public names and paths, re-exported
    "__init__": 14,
    "__main__": 13,
    "control": 13,
    "retry": 13,
    "plugin": 12,
    "cli": 12,
    # the prober reads a receiver through `remote` and sends with `send`
    "probe": 11,
    "hosts": 10,
    "remote": 10,
    "testing": 9,
    "send": 8,
    "expect": 8,
    "snapshot": 8,
    "control_protocol": 8,
    # the platforms' plans sit under the clients that drive them (as the delivery app
    # sits under the hosts that drive it), and their ingress under the receiver
    "platforms": 7,
    # recordings on disk: read by the endpoints' export, the clients' replay and the CLI
    "archive": 7,
    "delivery": 6,
    "recording": 5,
    "faults": 4,
    "criteria": 3,
    "wire": 2,
    "events": 1,
    "spec": 0,
}
BASE: frozenset[str] = frozenset({"config", "validate", "errors", "extras", "tls"})
#: Arrows DESIGN.md forbids whatever the floors say.
NEVER: list[tuple[str, str]] = [
    ("remote", "hosts"),
    ("delivery", "hosts"),
    ("delivery", "expect"),
    ("send", "delivery"),
    ("send", "hosts"),
    ("hosts.standalone", "remote"),
]
#: The SDK event's methods that only `events.py` may call.
SDK_METHODS = frozenset({"get_attributes", "get_data"})


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def room_of(module: str) -> str:
    """The room of a module: its first name under the package (`__init__` for the
    package itself)."""
    rest = module[len(TOP) + 1 :] if module != TOP else "__init__"
    return rest.split(".")[0]


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of the import nodes under `if TYPE_CHECKING:` (never run)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return out


def imports(name: str, path: Path, *, typing: bool = True) -> set[str]:
    """The modules `name` imports (absolute names), wherever the import stands (without
    the type-only ones under `TYPE_CHECKING` when `typing` is False)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    skip = set() if typing else _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
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
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def internal_graph(*, typing: bool = True) -> dict[str, set[str]]:
    mods = modules()
    return {
        name: {m for m in imports(name, path, typing=typing) if m in mods}
        for name, path in mods.items()
    }


def arrows(*, typing: bool = True) -> Iterator[tuple[str, str]]:
    for source, targets in internal_graph(typing=typing).items():
        for target in targets:
            yield source, target


def test_every_room_has_a_floor() -> None:
    rooms = {room_of(m) for m in modules()}
    assert rooms - set(FLOORS) - BASE == set(), "give the new room a floor in FLOORS"


def test_arrows_run_down_the_floors() -> None:
    """Run-time arrows; a type named only under TYPE_CHECKING (a `when=` predicate typed
    on the `Delivery` it gets) is no arrow: nothing is imported."""
    upward = []
    for source, target in arrows(typing=False):
        a, b = room_of(source), room_of(target)
        if a == b or b in BASE:
            continue
        if a in BASE or FLOORS[b] >= FLOORS[a]:
            upward.append(f"{source} -> {target}")
    assert upward == []


def test_the_arrows_design_md_forbids_do_not_exist() -> None:
    found = []
    for source, target in arrows():
        for a, b in NEVER:
            if source.startswith(f"{TOP}.{a}") and target.startswith(f"{TOP}.{b}"):
                found.append(f"{source} -> {target}")
    assert found == []


def test_the_import_graph_has_no_cycles() -> None:
    graph = internal_graph(typing=False)
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
    mods = modules()
    for name, path in mods.items():
        if room_of(name) != "wire":
            continue
        found = imports(name, path)
        libraries = {
            m
            for m in found
            if m.split(".")[0]
            in ("pytest", "werkzeug", "requests", "h11", "httptools", "aiohttp", "httpx")
        }
        rooms = {room_of(m) for m in found if m in mods} - {"wire", "events", "spec"} - BASE
        assert (libraries, rooms) == (set(), set()), name


def test_only_the_events_module_imports_the_sdk_event_classes() -> None:
    for name, path in modules().items():
        event_classes = {
            m
            for m in imports(name, path)
            if m.startswith(("cloudevents.core.v1", "cloudevents.core.v03", "cloudevents.http"))
            or m.startswith("cloudevents.v1")
        }
        if name != f"{TOP}.events":
            assert event_classes == set(), name


def test_only_the_events_module_calls_the_sdk_events_methods() -> None:
    calls = []
    for name, path in modules().items():
        if name == f"{TOP}.events":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in SDK_METHODS:
                calls.append(f"{name}:{node.lineno} .{node.attr}")
    assert calls == [], "read events through pytest_cloudevents.events"


def _private_names(path: Path) -> set[str]:
    """The `_private` names a module defines: functions, classes, attributes set on
    `self` or a class, module-level names, and dataclass fields."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)  # __slots__ entries
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_no_room_reads_another_rooms_private_attributes() -> None:
    mods = modules()
    defined: dict[str, set[str]] = {}
    for name, path in mods.items():
        defined.setdefault(room_of(name), set()).update(_private_names(path))
    reads = []
    for name, path in mods.items():
        own = defined[room_of(name)]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):  # `from another_room import _private`
                target = node.module or ""
                if target.startswith(TOP) and target in mods and room_of(target) != room_of(name):
                    reads += [
                        f"{name}:{node.lineno} imports {target}.{alias.name}"
                        for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")
                    ]
                continue
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__"):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            others = {room for room, names in defined.items() if attr in names}
            if attr not in own and others:  # another room's (a library's are not ours)
                reads.append(f"{name}:{node.lineno} ._{attr.lstrip('_')}")
    assert reads == []


def test_the_mock_does_not_import_the_server() -> None:
    for name, deps in internal_graph().items():
        if name.startswith(f"{TOP}.hosts.mock"):
            assert not any(d.startswith(f"{TOP}.hosts.server") for d in deps), name
            assert not any(d.startswith(f"{TOP}.hosts.receiver") for d in deps), name


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """Every pytest start (and xdist worker) loads the plugin: it imports no HTTP library,
    no server, no mock library, no Faker and no SDK until a fixture or name is used."""
    import subprocess
    import sys

    heavy = ["requests", "urllib3", "werkzeug", "httpx", "aiohttp", "faker", "cloudevents"]
    heavy += ["h11", "httptools", "responses", "respx", "asyncio"]
    code = (
        "import sys, pytest_cloudevents.plugin; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    import pytest_cloudevents

    for name in pytest_cloudevents.__all__:
        assert getattr(pytest_cloudevents, name) is not None, name
