"""Structured logs: one JSON object a line, each carrying the request id, no personal data.

Request paths are logged as route templates (a path may hold an invitation token), and no
handler logs names, personal identity numbers or meeting titles: the access log is the only
place request details appear.

Every library the service runs logs through the one root handler, in the configured format:
python-socketio and engine.io are given their loggers explicitly (left to themselves they add a
plain-text handler of their own, so each of their records came out twice, once not as JSON),
any handler a library attached is taken off, and ``warnings`` become log records. Libraries
that narrate routine work at INFO (APScheduler's "Running job …" every few seconds, python-
socketio's every emit) are held at WARNING.

The request id lives in a context variable, which asyncio copies into every task and callback
created while a request runs. Work that outlives the request (the schedule's jobs, the socket.io
listener) is started through :func:`outside_request`, so its records carry no request id rather
than that of whichever request happened to start it.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

#: Loggers of libraries the service runs, and the least level they log at.
LIBRARY_LEVELS: dict[str, int] = {
    # aiohttp's own access log prints raw paths; ours (meetsvc.access) prints route templates.
    "aiohttp.access": logging.WARNING,
    "socketio": logging.WARNING,
    "engineio": logging.WARNING,
    # APScheduler says at INFO each job it adds and each run of every job (the schedule's sync runs
    # every few seconds), Alembic each plugin it sets up: routine, not that something happened.
    "apscheduler": logging.WARNING,
    "alembic": logging.WARNING,
}

#: Libraries known to attach handlers of their own to these loggers.
_LIBRARY_LOGGERS = (
    "socketio",
    "socketio.server",
    "socketio.client",
    "engineio",
    "engineio.server",
    "engineio.client",
    "apscheduler",
    "aiohttp",
    "asyncpg",
    "py.warnings",
)

_P = ParamSpec("_P")
_T = TypeVar("_T")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def outside_request(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Call ``function`` in a copy of the current context without a request id: tasks and
    callbacks it creates (and everything they create in turn) log as background work."""
    context = contextvars.copy_context()
    context.run(request_id_var.set, None)
    return context.run(function, *args, **kwargs)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    for name, least in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(max(least, logging.getLevelNamesMapping()[level]))
    logging.captureWarnings(True)


class _WarningsAndAbove(logging.Filter):
    """python-socketio and engine.io log every packet at INFO and DEBUG, payload and all: names,
    verified names and ids of the people in a meeting. Whatever level the logs are configured at,
    only their warnings and errors are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_WARNINGS_ONLY = _WarningsAndAbove()


def library_logger(name: str) -> logging.Logger:
    """The logger a socket.io library is handed: records pass through the service's own handler,
    and nothing below WARNING is ever written."""
    logger = logging.getLogger(name)
    if _WARNINGS_ONLY not in logger.filters:
        logger.addFilter(_WARNINGS_ONLY)
    return logger
