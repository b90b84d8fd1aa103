"""The command line: every command works from a fresh configuration and is documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from meetsvc.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEETSVC_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "meetsvc", *args], capture_output=True, text=True, env=env, timeout=60)


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for command, action in COMMANDS:
        spelled = f"meetsvc {command}" + (f" {action}" if action else "")
        assert spelled in readme, f"`{spelled}` is not documented in README.md"
    assert "meetsvc serve" in readme


def test_keys_rotate_adds_a_key_and_keeps_the_old_ones(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/keys"\ncreate_missing_keys = false\n'
    )
    assert run(config, "keys", "init").returncode == 0
    first = sorted((tmp_path / "keys" / "signing").glob("*.pem"))
    rotated = run(config, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    second = sorted((tmp_path / "keys" / "signing").glob("*.pem"))
    assert len(first) == 1 and len(second) == 2 and first[0] in second
    assert "2 keys verify" in rotated.stdout


def test_a_missing_key_in_production_is_a_clear_error(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/none"\ncreate_missing_keys = false\n'
    )
    result = run(config, "audit", "verify")
    assert result.returncode == 1
    assert "keys init" in result.stderr
