"""What a notice says is decided without storage or transport: the message, calendar and text
modules import neither the database layer nor any network client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module",
    ["meetsvc.notify.messages", "meetsvc.notify.calendar", "meetsvc.notify.texts", "meetsvc.notify.channels"],
)
def test_module_pulls_in_no_storage_or_transport(module: str) -> None:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert not loaded & {"sqlalchemy", "aiohttp", "aiosmtplib", "socketio", "asyncpg", "aiosqlite"}
