"""`make run` as a newcomer runs it, on an empty `var/` of the test's own, and what it prints.

The development defaults are kept (config/development.toml); only where its files go and its two
ports change, through the variables the README names. The set-up steps are taken as done (the
suite runs after `make test` set up), so the test measures `make run` itself, not pip.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.timing import WAIT_SECONDS

ROOT = Path(__file__).resolve().parents[2]
READY = "press Ctrl+C to stop"


def unused_port() -> int:
    """A port nothing listens on now; `make run` binds it in another process, so it cannot be
    held for it (another test taking it in between would fail the start, not pass wrongly)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(var: Path, **extra: str) -> dict[str, str]:
    """The variables that put `make run`'s files under ``var`` and give it free ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETSVC_") or k.startswith("MEETSVC_TEST_")}
    env.update(
        MEETSVC_DATABASE__URL=f"sqlite+aiosqlite:///{var}/meetsvc.sqlite3",
        MEETSVC_SECURITY__KEYS_DIR=str(var / "keys"),
        MEETSVC_SIMULATOR__CERTS_DIR=str(var / "bankid-simulator"),
        MEETSVC_PORT=str(unused_port()),
        MEETSVC_SIMULATOR__APP_PORT=str(unused_port()),
        MEETSVC_FREJA_SIMULATOR__CERTS_DIR=str(var / "freja-simulator"),
        MEETSVC_FREJA_SIMULATOR__APP_PORT=str(unused_port()),
    )
    env.update(extra)
    return env


@dataclass
class Started:
    """The running service and the lines it printed up to its start-up banner's end."""

    lines: list[str]
    env: dict[str, str]

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    def address(self, label: str) -> str:
        """The address on the banner's line that starts with ``label``."""
        for line in self.lines:
            if line.strip().startswith(label):
                return re.findall(r"https?://\S+", line)[0]
        raise AssertionError(f"no line starting with {label!r} in:\n{self.stdout}")

    @property
    def base_url(self) -> str:
        return self.address("meetsvc is running").rstrip("/")

    @property
    def host_console(self) -> str:
        return self.address("then open the host console")

    def participant_links(self) -> dict[str, str]:
        """Name → personal link, from the banner's list of participants."""
        found = {}
        for line in self.lines:
            match = re.match(r"^\s{4}(\S.*?)\s+(https?://\S+/j/\S+)$", line)
            if match:
                found[match.group(1)] = match.group(2)
        return found


@contextmanager
def make_run(var: Path, **extra: str) -> Iterator[Started]:
    """Start `make run`, wait for its banner, and stop it (and everything it started) after."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    env = environment(var, **extra)
    # -o: the set-up stamps count as made (see the module's docstring).
    process = subprocess.Popen(
        [make, "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 3 * WAIT_SECONDS
        while READY not in seen:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("make run printed no banner:\n" + "\n".join(seen)) from None
            if line is None:
                raise AssertionError("make run stopped:\n" + "\n".join(seen))
            seen.append(line)
        yield Started(seen, env)
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    """Ctrl+C to make and the service it started (one process group), as a person would."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=WAIT_SECONDS)
    except ProcessLookupError:
        return  # it has already exited, and its group with it
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
