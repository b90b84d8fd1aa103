"""The log of a whole test run holds no personal data from the test data.

A pytest plugin (loaded by tests/conftest.py, or with ``-p tests.support.logscan``): from the
start of the session a handler on the root logger reads every record any code in the test
process logs (the service under test runs in it), at INFO and above as production logs by
default, and looks in its message, its exception and its extra fields for the personal identity
numbers, names, e-mail addresses and mobile numbers that the tests use. At the end of the session
the run fails if any record held one, and says which kind of datum, which logger and which test,
never the datum or the record's text (the report is a log too).

The data are the simulator's test persons and what the test sources write as a participant's or
a staff member's name, e-mail or mobile, gathered from the sources themselves, so a test that
brings a new person brings them into the scan.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from identity.bankid.simulator.persons import TEST_PERSONS, is_valid_personal_number

TESTS = Path(__file__).resolve().parents[1]

# Loggers of the servers the tests run as the service's peers, never part of a deployment: the
# test mail server (aiosmtpd logs each recipient as "mail.log").
TEST_PEERS = frozenset({"mail"})

# The attributes every LogRecord has; any other is an ``extra`` field, which the JSON logs write.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}")
_NUMBER = re.compile(r"(?<![0-9])((?:19|20)[0-9]{6})[-+]?([0-9]{4})(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+46|0)[ -]?(7[0-9](?:[ -]?[0-9]){7})(?![0-9])")
# A name as the tests write one: after display_name / name / verified_name, two or more words,
# each capitalised.
_NAMED = re.compile(r"(?:display_name|verified_name|name)[\"']?\s*[:=]\s*\"([^\"{}\\]+)\"")
_NAME = re.compile(r"^[A-ZÅÄÖ][\w-]+(?: [A-ZÅÄÖ][\w-]+)+$")
# Capitalised words that name no person.
_NOT_A_NAME = ("Region ", "SIP ")


def _digits_pattern(digits: str) -> str:
    """``digits`` with a space or a hyphen allowed between any two, as people write numbers."""
    return "[ -]?".join(digits)


@dataclass(frozen=True)
class PersonalData:
    """What must never be logged, by kind: one pattern each (so a record is read once a kind)."""

    patterns: dict[str, re.Pattern[str]]

    @classmethod
    def build(
        cls, numbers: Iterable[str], names: Iterable[str], emails: Iterable[str], mobiles: Iterable[str]
    ) -> PersonalData:
        """``numbers`` as 12 digits, ``mobiles`` as the nine digits after +46 or 0."""
        found: dict[str, list[str]] = {
            # 12 digits, or 10, with or without the separator.
            "personal identity number": [
                rf"(?<![0-9])(?:{n[:2]})?{n[2:8]}[-+ ]?{n[8:]}(?![0-9])" for n in sorted(set(numbers))
            ],
            "name": [rf"(?<![\w-]){re.escape(n)}(?![\w-])" for n in sorted(set(names))],
            "e-mail": [rf"(?<![\w.%+-]){re.escape(e)}(?![\w-])" for e in sorted(set(emails))],
            "mobile": [rf"(?<![0-9])(?:\+46|0)[ -]?{_digits_pattern(m)}(?![0-9])" for m in sorted(set(mobiles))],
        }
        return cls({kind: re.compile("|".join(parts), re.IGNORECASE) for kind, parts in found.items() if parts})

    @classmethod
    def of_the_tests(cls, sources: Path = TESTS) -> PersonalData:
        """The simulator's test persons and the people the test sources write."""
        numbers = {person.personal_number for person in TEST_PERSONS}
        names = {person.name for person in TEST_PERSONS}
        emails: set[str] = set()
        mobiles: set[str] = set()
        for path in sorted(sources.rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            numbers |= {a + b for a, b in _NUMBER.findall(text) if is_valid_personal_number(a + b)}
            names |= {n for n in _NAMED.findall(text) if _NAME.match(n) and not n.startswith(_NOT_A_NAME)}
            emails |= {e for e in _EMAIL.findall(text) if _is_personal_address(e)}
            mobiles |= {re.sub(r"[ -]", "", m) for m in _MOBILE.findall(text)}
        return cls.build(numbers, names, emails, mobiles)

    def kinds_in(self, text: str) -> list[str]:
        return [kind for kind, pattern in self.patterns.items() if pattern.search(text)]


def _is_personal_address(address: str) -> bool:
    """Senders (no-reply@) and calendar UIDs (<uuid>@host) are no person's address."""
    local = address.split("@", 1)[0].lower()
    return not local.startswith(("no-reply", "noreply")) and not re.fullmatch(r"[0-9a-f-]{36}", local)


@dataclass(frozen=True)
class Leak:
    kind: str
    logger: str
    level: str
    test: str

    def __str__(self) -> str:
        return f"a {self.kind} in a {self.level} record of logger {self.logger!r} during {self.test}"


class LogScan(logging.Handler):
    """A handler that reads each record as the service's formatter would write it, and keeps
    which kind of personal datum it held (never the datum)."""

    def __init__(self, data: PersonalData) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.data = data
        self.current_test = "(outside any test)"
        self.leaks: list[Leak] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in TEST_PEERS:
            return
        try:
            text = self.format(record)
            extras = [str(value) for key, value in vars(record).items() if key not in _STANDARD]
            for kind in self.data.kinds_in("\n".join([text, *extras])):
                self.leaks.append(Leak(kind, record.name, record.levelname, self.current_test))
        except Exception:  # a handler must never raise into the code that logs
            self.handleError(record)

    def report(self) -> str:
        lines = [f"personal data in the log: {len(self.leaks)} record(s) held test persons' data"]
        lines += [f"  {leak}" for leak in self.leaks[:50]]
        if len(self.leaks) > 50:
            lines.append(f"  ... and {len(self.leaks) - 50} more")
        return "\n".join(lines)


_SCAN = pytest.StashKey[LogScan]()


def pytest_configure(config: pytest.Config) -> None:
    scan = LogScan(PersonalData.of_the_tests())
    config.stash[_SCAN] = scan
    root = logging.getLogger()
    root.addHandler(scan)
    # Production logs INFO and above by default (logging.level): read at least what it would write.
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # ...except aiohttp's raw access log, which the service turns down (meetsvc.core.logs).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    scan = item.config.stash[_SCAN]
    scan.current_test = item.nodeid
    try:
        return (yield)
    finally:
        scan.current_test = "(between tests)"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    scan = session.config.stash.get(_SCAN, None)
    if scan is None:
        return
    logging.getLogger().removeHandler(scan)
    if scan.leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "personal data in the log", red=True, bold=True)
            reporter.write_line(scan.report())
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
