"""Where the memory of a waiting participant's socket goes, by allocation site and by type.

    .venv/bin/python bench/socket_memory.py                 # N = 500, the top 25 sites
    .venv/bin/python bench/socket_memory.py --n 1000 --top 40 --frames 8

Seeds a SQLite database and runs the service as ``bench/admit_latency.py`` does (its own
functions: the same config, a separate process, clients offering permessage-deflate), but the
service runs under this file's probe (``--probe``), which traces allocations with
:mod:`tracemalloc` from the start. Once the warm-up's sockets are connected and admitted, the
probe takes a snapshot and counts the live objects per type (after ``gc.collect()``); then N
participants connect and wait, and it does so again. Printed:

* the difference between the two snapshots per allocation site (``--frames`` deep, grouped by
  the innermost frame of the service or of a library, whichever is listed first), in bytes per
  socket; the sum is what Python's allocator holds for the N sockets, without the allocator's own
  slack, which the RSS figure of ``admit_latency.py`` includes;
* the objects per type that grew by at least one per two sockets, per socket.

Tracing slows the service several times over; the figures are of memory only.
"""

from __future__ import annotations

import sys
from pathlib import Path

# As in service_probe.py: run as a script, this folder comes first on sys.path, where
# bench/statistics.py would hide the standard library's module of that name from the service.
THIS_SCRIPT = Path(__file__).resolve()
if sys.path and Path(sys.path[0] or ".").resolve() == THIS_SCRIPT.parent:
    del sys.path[0]

import argparse
import asyncio
import functools
import gc
import json
import os
import random
import runpy
import signal
import tempfile
import time
import tracemalloc
from collections import Counter
from typing import Any

# The probe: runs inside the service's process ----------------------------------------------------


def _probe_snapshot(out: str, state: dict[str, int]) -> None:
    gc.collect()
    state["seq"] += 1
    seq = state["seq"]
    counts = Counter(type(o).__qualname__ + "@" + str(type(o).__module__) for o in gc.get_objects())
    with open(f"{out}.{seq}.types.json", "w", encoding="utf-8") as output:
        json.dump(counts, output)
    tracemalloc.take_snapshot().dump(f"{out}.{seq}.snapshot")
    partial = f"{out}.partial"
    with open(partial, "w", encoding="utf-8") as output:
        json.dump({"seq": seq}, output)
    os.replace(partial, out)


def probe_main(argv: list[str]) -> None:
    """``socket_memory.py --probe OUT FRAMES -m MODULE ARGS…``: run MODULE traced."""
    out, frames, module = argv[0], int(argv[1]), argv[3]
    tracemalloc.start(frames)
    state = {"seq": 0}
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: _probe_snapshot(out, state))
    sys.argv = [module, *argv[4:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


# The driver -----------------------------------------------------------------------------------


def _where(trace: tracemalloc.Statistic | tracemalloc.StatisticDiff) -> str:
    lines = []
    for frame in trace.traceback:
        name = frame.filename
        for marker in ("site-packages/", "/meetsvc/", "/lib/python3"):
            if marker in name:
                name = name.split(marker, 1)[1]
                break
        lines.append(f"{name}:{frame.lineno}")
    return " < ".join(lines)


def _report(out: Path, before: int, after: int, n: int, frames: int, top: int) -> None:
    first = tracemalloc.Snapshot.load(f"{out}.{before}.snapshot")
    second = tracemalloc.Snapshot.load(f"{out}.{after}.snapshot")
    diff = second.compare_to(first, "traceback")
    total = sum(d.size_diff for d in diff)
    print(f"traced: {total / n / 1024:.2f} KiB per socket ({total / 1024:.0f} KiB for {n})")
    print("by file of the allocating line:")
    for stat in second.compare_to(first, "filename")[:top]:
        print(f"{stat.size_diff / n:8.0f} B {stat.count_diff / n:6.2f} blocks  {_where(stat)}")
    print("by allocating line:")
    for stat in second.compare_to(first, "lineno")[:top]:
        print(f"{stat.size_diff / n:8.0f} B {stat.count_diff / n:6.2f} blocks  {_where(stat)}")
    print(f"by call stack ({frames} frames, the allocating line last):")
    for stat in diff[:top]:
        print(f"{stat.size_diff / n:8.0f} B {stat.count_diff / n:6.2f} blocks  {_where(stat)}")
    types_before = Counter(json.loads(Path(f"{out}.{before}.types.json").read_text(encoding="utf-8")))
    types_after = Counter(json.loads(Path(f"{out}.{after}.types.json").read_text(encoding="utf-8")))
    grown = {k: types_after[k] - types_before[k] for k in types_after}
    print("objects per socket (gc-tracked), growing by >= 0.5 per socket:")
    for name, count in sorted(grown.items(), key=lambda kv: -kv[1]):
        if count >= n / 2:
            print(f"{count / n:8.2f}  {name}")


async def run(n: int, frames: int, top: int, workdir: Path) -> None:
    import admit_latency as bench  # this folder, run as a script
    import aiohttp

    out = workdir / "probe.json"
    # The benchmark's own start of the service, under this probe instead of its statement counter.
    bench.PROBE_SCRIPT = THIS_SCRIPT
    original_spawn = bench._spawn

    def spawn(args: list[str], log: Path) -> Any:
        if args[1] == str(THIS_SCRIPT):
            args = [args[0], str(THIS_SCRIPT), "--probe", str(out), str(frames), *args[3:]]
        return original_spawn(args, log)

    bench._spawn = spawn
    root = workdir
    database_url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    world = await bench.seed(database_url, root / "keys", n)
    service = await bench.start_service(
        workdir,
        "meetsvc",
        database_url,
        root / "keys",
        root / "sim",
        False,
        bench.Deployment(processes=1, database="sqlite"),
    )
    service.stats = out
    shared = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar())
    participants = bench.Participants(service.base_url, shared)
    try:
        await asyncio.to_thread(bench.mint_tickets, service.base_url, root / "keys", world.meetings + world.warmup)
        warm = [p for meeting in world.warmup for p in meeting.participants]
        await bench.bounded(bench.CONNECT_CONCURRENCY, [functools.partial(participants.connect, p) for p in warm])
        before = (await bench.probe_stats(service))["seq"]
        t0 = time.perf_counter()
        await bench.bounded(
            bench.CONNECT_CONCURRENCY, [functools.partial(participants.connect, p) for p in world.participants]
        )
        print(f"{n} connected in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        after = (await bench.probe_stats(service))["seq"]
        agreed, sockets = participants.deflate_negotiated()
        print(f"deflate agreed on {agreed} of {sockets} sockets")
        _report(out, before, after, n, frames, top)
    finally:
        await participants.close(2.0)
        await shared.close()
        await bench._stop(service.process)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--probe":
        probe_main(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="participants connected between the snapshots")
    parser.add_argument("--frames", type=int, default=6, help="frames kept per allocation (default 6)")
    parser.add_argument("--top", type=int, default=25, help="allocation sites printed")
    args = parser.parse_args(argv)
    random.seed(1)
    sys.path.append(str(THIS_SCRIPT.parent))  # after the standard library
    with tempfile.TemporaryDirectory(prefix="meetsvc-socket-memory-") as workdir:
        asyncio.run(run(args.n, args.frames, args.top, Path(workdir)))


if __name__ == "__main__":
    main()
