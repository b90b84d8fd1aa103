"""What the gates of `make check` cannot say themselves: a silenced type error says why.

mypy (`ignore-without-code`) and ruff (PGH003) already insist that a ``# type: ignore`` names its
error code. Neither asks for the reason, which is what a reader needs to judge whether the ignore
may go: ``# type: ignore[arg-type]  # pydantic fills it in``. The ignores written before this rule
are counted per file below; a file may lose them, never gain one.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("meetsvc", "identity", "bench", "tests")

# The ignore with its codes in brackets, then its reason in a comment of its own.
IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<codes>\[[^\]]*\])?(?P<rest>.*)")
REASON = re.compile(r"^\s*#\s*\S")

# Ignores without a reason that predate the rule. Lower a number when you give one a reason or
# remove it; the test says when a number is out of date.
WITHOUT_REASON = {
    "meetsvc/http/api/schemas.py": 6,
    "meetsvc/http/api/views.py": 2,
    "meetsvc/realtime/tickets.py": 1,
    "meetsvc/services/booking.py": 7,
    "tests/browser/conftest.py": 6,
    "tests/browser/test_journeys.py": 5,
    "tests/browser/test_keyboard.py": 2,
    "tests/browser/test_markup_is_text.py": 2,
    "tests/identity/test_bankid_client.py": 3,
    "tests/identity/test_bankid_messages.py": 2,
    "tests/identity/test_personnummer.py": 1,
    "tests/notify/mailserver.py": 1,
    "tests/notify/test_calendar.py": 1,
    "tests/notify/test_delivery.py": 2,
    "tests/notify/test_notices.py": 1,
    "tests/notify/test_outbox.py": 1,
    "tests/notify/test_sms_http.py": 1,
    "tests/notify/test_smtp_tls.py": 1,
    "tests/scale/test_faults.py": 1,
    "tests/scale/test_schedule_takeover.py": 2,
    "tests/schedule/test_restart.py": 4,
    "tests/schedule/test_timed_work.py": 2,
    "tests/test_key_rotation.py": 1,
    "tests/video/harness.py": 1,
    "tests/waiting_room/test_attacks.py": 3,
    "tests/waiting_room/test_handover.py": 6,
    "tests/web/test_deliveries.py": 2,
}


def _ignores() -> list[tuple[str, int, str, str]]:
    """(path, line, codes, rest) for every ``# type: ignore`` comment; strings do not count."""
    found = []
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            source = path.read_text(encoding="utf-8")
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type != tokenize.COMMENT:
                    continue
                match = IGNORE.search(token.string)
                if match:
                    found.append((relative, token.start[0], match["codes"] or "", match["rest"]))
    return found


def test_every_type_ignore_names_its_error_code():
    bare = [f"{path}:{line}" for path, line, codes, _ in _ignores() if codes in ("", "[]")]
    assert bare == [], "write # type: ignore[code]  # reason"


def test_no_type_ignore_without_a_reason_beyond_those_counted():
    without = Counter(path for path, _, _, rest in _ignores() if not REASON.match(rest))
    more = {path: n for path, n in without.items() if n > WITHOUT_REASON.get(path, 0)}
    assert more == {}, "give each new ignore its reason: # type: ignore[code]  # why it is safe"
    stale = {path: without.get(path, 0) for path, n in WITHOUT_REASON.items() if without.get(path, 0) < n}
    assert stale == {}, f"fewer ignores without a reason now: lower WITHOUT_REASON to {dict(sorted(without.items()))}"
