"""The video package stands on its own, and the test-only LiveKit SDK never reaches the service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _loaded(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return {name.split(".")[0] for name in json.loads(out.stdout)}


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("meetsvc.video.base", {"aiohttp", "socketio", "sqlalchemy", "livekit", "jwt"}),
        ("meetsvc.video.registry", {"socketio", "sqlalchemy", "livekit", "google"}),
    ],
)
def test_module_pulls_in_nothing_it_must_not(module: str, forbidden: set[str]) -> None:
    assert not _loaded(module) & forbidden
