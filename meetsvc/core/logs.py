"""Structured logs: one JSON object a line, each carrying the request id, no personal data.

Request paths are logged as route templates (a path may hold an invitation token), and no
handler logs names, personal identity numbers or meeting titles: the access log is the only
place request details appear.
"""

from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


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
    # aiohttp's own access log prints raw paths; ours (meetsvc.access) prints route templates.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    for name in ROUTINE_AT_INFO:
        logging.getLogger(name).setLevel(logging.WARNING if root.level >= logging.INFO else logging.NOTSET)


# Libraries that say at INFO what they do every time, not that something happened: Alembic
# names each plugin it sets up, APScheduler each job it adds and each run of every job (the
# schedule's sync runs every few seconds). Their warnings and errors still come through.
ROUTINE_AT_INFO = ("alembic", "apscheduler.scheduler", "apscheduler.executors")
