"""docs/waiting-room.md names every socket.io event the service accepts and emits, and no other.

The events are found in the source with ``ast``, wherever they live under ``meetsvc/``, so the test
holds while modules move:

* a **namespace** is a class that derives (here or in python-socketio) from a ``…Namespace``
  class; its name is the string it passes to ``super().__init__`` (or a ``namespace`` class
  attribute), constants resolved through module-level ``NAME = "…"`` assignments;
* an event a namespace **accepts** is an ``on_<event>`` method, a key of an ``events`` table
  (``self.events = {"admit": …}``), or a string compared with ``event`` in its dispatcher
  (``if event == "signal"``), in the class or a base class of ours;
* an event the service **emits** is the first argument of an ``emit(…)`` call, in the namespace
  of the class it is in, or the one named by ``namespace=``.

socket.io's own ``connect`` and ``disconnect`` are not events of ours. An ``emit`` whose event or
namespace cannot be told fails the test: name events with literals or constants.

The guide documents each namespace under a heading naming it (``## Hosts: `/host` ``), with a
``### … sends`` table for what the page sends and a ``### … receives`` table for what the service
emits; an event is documented by a table row that starts with it (``| `admit` | …``).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "meetsvc"
GUIDE = ROOT / "docs" / "waiting-room.md"
RESERVED = {"connect", "disconnect"}
# Keyword arguments only socket.io's emit takes: an emit call with one of them is socket.io's,
# whatever it is called on (a logging handler's emit(record) has none).
SOCKET_KEYWORDS = {"namespace", "to", "room", "skip_sid", "callback"}

Events = dict[str, set[str]]  # namespace -> event names


@dataclass
class _Class:
    name: str
    bases: list[str]
    namespace: str | None = None
    accepts: set[str] = field(default_factory=set)
    emits: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"), str(path))) for path in sorted(PACKAGE.rglob("*.py"))]


def _constants(modules: list[tuple[Path, ast.Module]]) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, across the package (names may be imported)."""
    found: dict[str, str] = {}
    for _, module in modules:
        for node in module.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            value = getattr(node, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                for target in targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = value.value
    return found


def _text(node: ast.AST | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute):
        return constants.get(node.attr)
    return None


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def _read_class(node: ast.ClassDef, where: str, constants: dict[str, str]) -> _Class:
    found = _Class(node.name, [_base_name(base) for base in node.bases])
    for item in ast.walk(node):
        # The namespace: super().__init__("/x") or namespace = "/x".
        if (
            isinstance(item, ast.Call)
            and isinstance(item.func, ast.Attribute)
            and item.func.attr == "__init__"
            and isinstance(item.func.value, ast.Call)
            and _base_name(item.func.value.func) == "super"
            and item.args
        ):
            found.namespace = _text(item.args[0], constants)
        if isinstance(item, ast.Assign) and any(_base_name(t) == "namespace" for t in item.targets):
            found.namespace = _text(item.value, constants) or found.namespace
        # Accepted: on_<event> methods ...
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("on_"):
            found.accepts.add(item.name.removeprefix("on_"))
        # ... an events table ...
        if isinstance(item, (ast.Assign, ast.AnnAssign)) and isinstance(item.value, ast.Dict):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            if any(_base_name(t) == "events" for t in targets):
                for key in item.value.keys:
                    name = _text(key, constants)
                    if name is None:
                        found.problems.append(f"{where}: an events key of {node.name} is not a literal or constant")
                    else:
                        found.accepts.add(name)
        # ... or strings compared with `event` in a dispatcher.
        if isinstance(item, ast.Compare) and isinstance(item.left, ast.Name) and item.left.id == "event":
            for op, right in zip(item.ops, item.comparators, strict=False):
                options = (
                    right.elts
                    if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.Tuple, ast.List, ast.Set))
                    else [right]
                )
                found.accepts |= {name for option in options if (name := _text(option, constants)) is not None}
    found.accepts -= RESERVED
    return found


def _emits(node: ast.AST, constants: dict[str, str], in_namespace: bool) -> list[tuple[str | None, str | None, int]]:
    """(event, namespace named by keyword, line) of each socket.io emit call under ``node``."""
    found = []
    for item in ast.walk(node):
        if not (isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute) and item.func.attr == "emit"):
            continue
        keywords = {keyword.arg: keyword.value for keyword in item.keywords if keyword.arg}
        if not in_namespace and not SOCKET_KEYWORDS & keywords.keys():
            continue
        event = _text(item.args[0], constants) if item.args else None
        found.append(
            (event, _text(keywords.get("namespace"), constants) if "namespace" in keywords else None, item.lineno)
        )
    return found


@dataclass
class Protocol:
    accepts: Events
    emits: Events
    problems: list[str]


def discover() -> Protocol:
    modules = _modules()
    constants = _constants(modules)
    classes: dict[str, _Class] = {}
    trees: dict[str, tuple[str, ast.ClassDef]] = {}
    for path, module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.ClassDef):
                where = str(path.relative_to(ROOT))
                classes[node.name] = _read_class(node, where, constants)
                trees[node.name] = (where, node)

    def is_namespace(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name.endswith("Namespace") and name not in classes:
            return True  # python-socketio's own
        cls = classes.get(name)
        return cls is not None and name not in seen and any(is_namespace(b, seen | {name}) for b in cls.bases)

    def lineage(name: str) -> list[_Class]:
        cls = classes.get(name)
        return [] if cls is None else [cls] + [c for base in cls.bases for c in lineage(base)]

    accepts: Events = defaultdict(set)
    emits: Events = defaultdict(set)
    problems: list[str] = [p for cls in classes.values() for p in cls.problems]
    # Emits of each class, in the namespace it names or, for a namespace class, its own (and
    # those of its bases of ours land in every namespace deriving from them).
    for name, (where, node) in trees.items():
        own = is_namespace(name)
        for event, namespace, line in _emits(node, constants, own):
            if event is None:
                problems.append(f"{where}:{line}: emit of an event that is not a literal or constant")
                continue
            if namespace is not None:
                emits[namespace].add(event)
            elif not own:
                problems.append(f"{where}:{line}: emit({event!r}) names no namespace")
    for name in classes:
        if not is_namespace(name):
            continue
        namespace = next((c.namespace for c in lineage(name) if c.namespace), None)
        if namespace is None:
            continue  # a base of namespaces: its events count in theirs
        for cls in lineage(name):
            accepts[namespace] |= cls.accepts
            where, node = trees[cls.name]
            emits[namespace] |= {event for event, named, _ in _emits(node, constants, True) if event and named is None}
    return Protocol(dict(accepts), dict(emits), problems)


def documented() -> tuple[Events, Events]:
    """Per namespace, the events the guide lists as sent by the page and as received by it."""
    sends: Events = defaultdict(set)
    receives: Events = defaultdict(set)
    namespace, table = None, None
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            named = re.search(r"`(/[a-z_]+)`", line)
            namespace, table = (named.group(1) if named else None), None
        elif line.startswith("### ") and namespace is not None:
            heading = line.lower()
            table = sends if "sends" in heading else receives if "receives" in heading else None
        elif table is not None and namespace is not None and (row := re.match(r"\|\s*`([a-z_]+)`", line)):
            table[namespace].add(row.group(1))
    return dict(sends), dict(receives)


PROTOCOL = discover()
SENDS, RECEIVES = documented()


def test_the_events_can_all_be_told():
    assert not PROTOCOL.problems


def test_every_namespace_is_found():
    """A guard for the discovery itself: a new way of declaring events must not hide them."""
    assert {"/participant", "/host", "/video"} <= PROTOCOL.accepts.keys()
    assert {"admit", "join_video", "list"} <= PROTOCOL.accepts["/host"]
    assert {"arrive", "leave", "joined_video"} <= PROTOCOL.accepts["/participant"]
    assert {"signal", "leave"} <= PROTOCOL.accepts["/video"]
    assert {"state", "opened", "credential", "error"} <= PROTOCOL.emits["/participant"]
    assert {"participant", "meeting", "credential"} <= PROTOCOL.emits["/host"]
    assert {"peer_joined", "peer_left", "signal", "revoked"} <= PROTOCOL.emits["/video"]


def test_every_namespace_has_its_section():
    assert set(PROTOCOL.accepts) | set(PROTOCOL.emits) == set(SENDS) | set(RECEIVES)


@pytest.mark.parametrize("namespace", sorted(set(PROTOCOL.accepts) | set(PROTOCOL.emits)))
def test_every_event_a_page_may_send_is_documented_and_no_other(namespace):
    accepted, listed = PROTOCOL.accepts.get(namespace, set()), SENDS.get(namespace, set())
    assert not accepted - listed, f"accepted on {namespace} but not in {GUIDE.name}"
    assert not listed - accepted, f"in {GUIDE.name} for {namespace} but not accepted"


@pytest.mark.parametrize("namespace", sorted(set(PROTOCOL.accepts) | set(PROTOCOL.emits)))
def test_every_event_the_service_emits_is_documented_and_no_other(namespace):
    emitted, listed = PROTOCOL.emits.get(namespace, set()), RECEIVES.get(namespace, set())
    assert not emitted - listed, f"emitted on {namespace} but not in {GUIDE.name}"
    assert not listed - emitted, f"in {GUIDE.name} for {namespace} but never emitted"
