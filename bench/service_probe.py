"""Runs ``python -m meetsvc …`` with two counters a benchmark can read: SQL statements and GC pauses.

    python bench/service_probe.py STATS_FILE -m meetsvc --config … serve

Used by ``bench/admit_latency.py`` in place of ``python -m meetsvc``; the service itself is
unchanged and knows nothing of it. Before the service's modules are imported this installs

* a SQLAlchemy ``before_cursor_execute`` listener on the ``Engine`` class, so every statement
  any engine of the process sends to its database is counted (the async engines run on a sync
  ``Engine`` underneath, and SQLite's ``BEGIN`` is sent by the service's own listener through
  the cursor, so it is counted too): what the database received, not an estimate;
* a ``gc.callbacks`` hook timing each collection from its ``start`` to its ``stop``
  (``time.perf_counter``): the collector holds the interpreter for that long.

On ``SIGUSR1`` it writes ``{"seq", "statements", "gc_max_pause_ms", "gc_collections"}`` to
STATS_FILE (replacing it whole): the statement count since start, and the longest pause and the
number of collections since the previous ``SIGUSR1`` (or start). The benchmark signals once
before the phase it measures and once after it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where bench/statistics.py would
# hide the standard library's module of that name from the service.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import gc
import json
import os
import runpy
import signal
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_state: dict[str, Any] = {"seq": 0, "statements": 0, "gc_max": 0.0, "gc_count": 0, "gc_start": None}


def _statement(*_: Any) -> None:
    _state["statements"] += 1


def _collection(phase: str, _info: dict[str, Any]) -> None:
    now = time.perf_counter()
    if phase == "start":
        _state["gc_start"] = now
    elif _state["gc_start"] is not None:
        _state["gc_max"] = max(_state["gc_max"], now - _state["gc_start"])
        _state["gc_count"] += 1
        _state["gc_start"] = None


def _snapshot(stats_file: str) -> None:
    _state["seq"] += 1
    report = {
        "seq": _state["seq"],
        "statements": _state["statements"],
        "gc_max_pause_ms": round(_state["gc_max"] * 1000, 3),
        "gc_collections": _state["gc_count"],
    }
    _state["gc_max"], _state["gc_count"] = 0.0, 0
    partial = f"{stats_file}.partial"
    with open(partial, "w", encoding="utf-8") as output:
        json.dump(report, output)
    os.replace(partial, stats_file)


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "-m":
        raise SystemExit("usage: service_probe.py STATS_FILE -m MODULE [ARGS …]")
    stats_file, module = sys.argv[1], sys.argv[3]
    event.listen(Engine, "before_cursor_execute", _statement)
    gc.callbacks.append(_collection)
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: _snapshot(stats_file))
    sys.argv = [module, *sys.argv[4:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
