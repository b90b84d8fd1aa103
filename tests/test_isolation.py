"""The domain and the identity package stand alone: no transport, no application."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import identity

ROOT = Path(__file__).resolve().parents[1]


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("meetsvc.domain.model", {"aiohttp", "socketio", "engineio", "sqlalchemy"}),
        ("meetsvc.domain.rules", {"aiohttp", "socketio", "engineio", "sqlalchemy"}),
        ("meetsvc.domain.errors", {"aiohttp", "socketio", "engineio", "sqlalchemy"}),
        ("identity", {"meetsvc", "socketio", "engineio", "sqlalchemy"}),
        ("identity.personnummer", {"meetsvc", "aiohttp", "socketio", "sqlalchemy"}),
    ],
)
def test_module_pulls_in_nothing_it_must_not(module, forbidden):
    loaded = _modules_after_import(module)
    assert not {name for name in loaded if name.split(".")[0] in forbidden}


def test_identity_is_ours_and_not_another_distributions():
    assert Path(identity.__file__).resolve().parent == ROOT / "identity"


def test_no_module_in_identity_imports_meetsvc():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "identity").rglob("*.py")
        if "import meetsvc" in path.read_text() or "from meetsvc" in path.read_text()
    ]
    assert offenders == []
