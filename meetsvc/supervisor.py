"""Several service processes from one command: ``meetsvc serve`` with ``server.processes`` > 1.

The processes share nothing in memory (state is in PostgreSQL, the waiting room's notices go
through Redis), so the supervisor is only about processes: start N workers, one per port
(``server.port`` .. ``server.port + N - 1``, the ports the proxy's upstream lists), start again
one that dies, stop them all when told to, and leave none behind when it is killed itself.

* A worker is ``python -m meetsvc serve`` with ``MEETSVC_SERVER_PORT`` set to its port (any other
  spelling of the key inherited from the supervisor's environment removed) and
  ``MEETSVC_SERVER_PROCESSES=1``: an ordinary single process that never supervises in turn.
* The workers must agree on what makes links and tokens portable between them: without
  ``server.public_url`` each would call itself ``http://host:its-port``, and a lobby ticket one
  signed would be refused by the others, so the supervisor hands them the first port's address.
* Files every worker reads (the keys; the BankID simulator's test certificates) are checked,
  or created where ``security.create_missing_keys`` allows, here and once, before any worker
  starts: N workers creating them at once would each write a different key, and a missing key
  is better refused once than by workers restarted forever. In development each worker's BankID
  simulator gets a free port for its app page (they cannot share one; each logs its own).
* Workers run in a process group of their own, so Ctrl+C in a terminal reaches the supervisor
  alone, which sends each worker exactly one SIGTERM: aiohttp's graceful stop, closing sockets
  first so pages reconnect elsewhere. A second signal would cut a worker's clean-up short.
* On Linux each worker asks the kernel for SIGTERM when the supervisor dies
  (``PR_SET_PDEATHSIG``), so even a supervisor killed with SIGKILL leaves no orphan holding a
  port or the schedule's lock. Elsewhere, run one ``meetsvc serve`` per port under a service
  manager instead.

It is plain blocking code, not asyncio: it waits for nothing but its children and signals, and
a loop that wakes a few times a second is the simplest thing that cannot go wrong.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from meetsvc.config import Settings, with_variable

log = logging.getLogger("meetsvc.supervisor")

#: How often the supervisor looks at its workers and at signals received.
POLL_SECONDS = 0.2
#: The first wait before starting a dead worker again; doubled for each death in a row.
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
#: A worker that ran this long before dying died on its own, not of a failing start:
#: its restart waits only the first back-off again.
STABLE_SECONDS = 60.0
#: How long workers get to stop after SIGTERM (aiohttp's shutdown takes up to 60 s with
#: connections that do not close) before they are killed.
STOP_GRACE_SECONDS = 75.0

_PR_SET_PDEATHSIG = 1


def _parent_death_signal() -> Callable[[], None] | None:
    """A function for ``preexec_fn`` that makes the child get SIGTERM when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only calls it
    parent = os.getpid()

    def in_child() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above: no signal will come
            os._exit(1)

    return in_child


@dataclass
class Worker:
    index: int
    port: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    deaths_in_a_row: int = 0


class Supervisor:
    """Runs ``command`` once per port with ``environ`` plus the port, until told to stop."""

    def __init__(
        self,
        command: Sequence[str],
        ports: Sequence[int],
        environ: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._command = list(command)
        self._environ = dict(environ)
        self._clock = clock
        self.workers = [Worker(index, port) for index, port in enumerate(ports)]
        self._stop_signal: int | None = None
        self._preexec = _parent_death_signal()

    def _start(self, worker: Worker) -> None:
        env = with_variable(self._environ, "MEETSVC_SERVER_PORT", str(worker.port))
        env = with_variable(env, "MEETSVC_SERVER_PROCESSES", "1")
        # The command is this program's own argv (meetsvc serve), never input from a request.
        worker.process = subprocess.Popen(  # noqa: S603
            self._command, env=env, process_group=0, preexec_fn=self._preexec, close_fds=True
        )
        worker.started_at = self._clock()
        worker.restart_at = None
        log.info("worker %d started on port %d (pid %d)", worker.index, worker.port, worker.process.pid)

    def _back_off(self, worker: Worker, now: float) -> float:
        """Plan the worker's next start; the wait, doubled for each failure in a row."""
        delay = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2**worker.deaths_in_a_row)
        worker.deaths_in_a_row += 1
        worker.restart_at = now + delay
        return delay

    def _watch(self) -> None:
        """Notice dead workers and start them again when their back-off has passed."""
        now = self._clock()
        for worker in self.workers:
            if worker.process is not None:
                code = worker.process.poll()
                if code is None:
                    continue
                worker.process = None
                if now - worker.started_at >= STABLE_SECONDS:
                    worker.deaths_in_a_row = 0
                delay = self._back_off(worker, now)
                log.warning(
                    "worker %d on port %d exited unexpectedly (%s); starting it again in %.0f s",
                    worker.index,
                    worker.port,
                    _describe_exit(code),
                    delay,
                )
            elif worker.restart_at is not None and now >= worker.restart_at:
                try:
                    self._start(worker)
                except OSError as exc:  # no fork for now (memory, process limits): later, then
                    delay = self._back_off(worker, now)
                    log.warning(
                        "worker %d could not be started (%s); trying again in %.0f s",
                        worker.index,
                        type(exc).__name__,
                        delay,
                    )

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stop_signal = signum

    def run(self) -> int:
        """Supervise until SIGTERM or SIGINT; then stop every worker and return 0."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for worker in self.workers:
                self._start(worker)
            while self._stop_signal is None:
                self._watch()
                time.sleep(POLL_SECONDS)
            log.info("stopping %d workers (%s)", len(self.workers), signal.Signals(self._stop_signal).name)
            self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to every worker once, wait for them, kill those still running after the grace."""
        running = [w.process for w in self.workers if w.process is not None and w.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = self._clock() + grace_seconds
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop within %.0f s; killing it", process.pid, grace_seconds)
                process.kill()
                process.wait()
        for worker in self.workers:
            worker.process = None
            worker.restart_at = None


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def worker_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """What every worker runs with, beyond its port: see the module docstring for why."""
    env = dict(environ)
    if settings.server.public_url is None:
        env = with_variable(env, "MEETSVC_SERVER_PUBLIC_URL", settings.server.base_url)
    if settings.identity.provider == "bankid-simulator":
        env = with_variable(env, "MEETSVC_SIMULATOR_APP_PORT", "0")
    return env


def prepare_shared_files(settings: Settings) -> None:
    """Create (where configured) or check the files all workers read, before any starts."""
    from meetsvc.core.secrets import load_keys
    from meetsvc.core.signing import load_signing_keys

    create, development = settings.security.create_missing_keys, settings.is_development
    load_keys(settings.security.keys_dir, create_missing=create, development=development)
    load_signing_keys(settings.security.keys_dir / "signing", create_missing=create, development=development)
    if settings.identity.provider == "bankid-simulator":
        from identity.bankid.testpki import ensure_test_pki

        ensure_test_pki(settings.simulator.certs_dir)


def supervise(settings: Settings, *, config: Path | None, environ: Mapping[str, str] | None = None) -> int:
    """``meetsvc serve`` with several processes: prepare, then run the workers until stopped."""
    environ = os.environ if environ is None else environ
    first = settings.server.port
    ports = list(range(first, first + settings.server.processes))
    command = [sys.executable, "-m", "meetsvc"]
    if config is not None:
        command += ["--config", str(Path(config).resolve())]
    command.append("serve")
    prepare_shared_files(settings)
    supervisor = Supervisor(command, ports, worker_environment(settings, environ))
    log.info("supervising %d service processes on ports %d to %d", len(ports), ports[0], ports[-1])
    return supervisor.run()
