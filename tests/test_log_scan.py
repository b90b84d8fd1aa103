"""The scan of the whole run's log (tests/support/logscan.py) finds a planted leak, and says
where without repeating it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from tests.support.logscan import LogScan, PersonalData

ROOT = Path(__file__).resolve().parents[1]


def test_every_kind_of_test_datum_is_found_in_a_record_and_not_repeated_in_the_report() -> None:
    scan = LogScan(PersonalData.of_the_tests())
    logger = logging.getLogger("meetsvc.planted")
    logger.propagate = False  # the session's own scan must not see these
    logger.addHandler(scan)
    try:
        logger.warning("invited %s", "Kim Andersson")
        logger.info("identified 19811218-9876")
        logger.error("mail to %s failed", "lena@example.se")
        logger.warning("sms", extra={"to": "070-123 45 67"})
        try:
            raise ValueError("Karin Johansson")
        except ValueError:
            logger.exception("booking failed")
        logger.warning("meeting %s booked for Exempelstads kommun from no-reply@sip-mote.example.se", "m-1")
    finally:
        logger.removeHandler(scan)
        logger.propagate = True
    assert [leak.kind for leak in scan.leaks] == ["name", "personal identity number", "e-mail", "mobile", "name"]
    assert {leak.logger for leak in scan.leaks} == {"meetsvc.planted"}
    report = scan.report()
    for datum in ("Kim", "Andersson", "9876", "lena", "123 45", "Karin"):
        assert datum not in report


PLANTED = """
import logging

def test_books():
    logging.getLogger("meetsvc.services.booking").info("participant %s added", {datum!r})
"""


def run_with_the_scan(tmp_path: Path, datum: str) -> subprocess.CompletedProcess[str]:
    """A pytest run of its own, with the scan, of one test that logs ``datum`` at INFO."""
    test = tmp_path / "test_planted.py"
    test.write_text(PLANTED.format(datum=datum))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    # Only the scan: the suite's other plugins (hypothesis, schemathesis, ...) take seconds to load.
    command = [sys.executable, "-m", "pytest", "-q", "-c", str(tmp_path / "pytest.ini"), "-p", "tests.support.logscan"]
    return subprocess.run(
        [*command, "-p", "no:cacheprovider", str(test)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        timeout=120,
    )


def test_a_run_whose_log_holds_a_test_person_fails_and_names_the_logger_and_the_test(tmp_path: Path) -> None:
    result = run_with_the_scan(tmp_path, "Per-Olof Öberg")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout, "the test itself passed: the run fails for the log alone"
    assert "a name in a INFO record of logger 'meetsvc.services.booking' during" in result.stdout
    assert "test_planted.py::test_books" in result.stdout
    assert "Öberg" not in result.stdout + result.stderr


def test_a_run_whose_log_holds_no_personal_data_passes(tmp_path: Path) -> None:
    result = run_with_the_scan(tmp_path, "p-0001")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "personal data in the log" not in result.stdout
