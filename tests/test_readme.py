"""The README books a meeting through the API with commands a newcomer copies: this runs them,
as written, against `make run`'s demo, so the README cannot drift from the API.

The blocks fenced as ```` ```sh test ```` are run in order in one shell, the way a reader pastes
them into one terminal, with only the variables the README itself names (``MEETSVC_PORT``)
pointing at this run.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.make_run import make_run
from tests.support.timing import WAIT_SECONDS

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```sh test\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def readme_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_marks_its_api_walk_for_testing():
    blocks = readme_blocks()
    script = "\n".join(blocks)
    # create, invite, read back: each step is among the blocks run below.
    for step in (
        "api-client create",
        '"$API/meetings"',
        '/participants" <<EOF',
        '"$API/meetings/$MEETING/participants" \\',
        '"$API/staff" <<EOF',
    ):
        assert step in script, f"the README's tested blocks lost the step {step!r}"
    assert "msk_..." not in script and "…" not in script, "a tested block holds a placeholder"


def test_the_readmes_api_commands_book_a_meeting_against_the_demo(tmp_path):
    with make_run(tmp_path / "var") as started:
        script = "set -euo pipefail\n" + "\n".join(readme_blocks())
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=started.env,
            capture_output=True,
            text=True,
            timeout=3 * WAIT_SECONDS,
        )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout.splitlines()
    base = started.base_url
    assert out[0].startswith(f"host console: {base}/staff/meetings/")
    # The two invitations' personal links, each printed once.
    links = [line for line in out if re.fullmatch(re.escape(base) + r"/j/[A-Za-z0-9_-]{20,100}", line)]
    assert len(links) == 2 and links[0] != links[1], result.stdout
    # Read back: each participant, still invited, with their invitation on their channel.
    assert "Elin Nyström: invited; sms invitation " in result.stdout
    assert "Gunnar Åkesson: invited; email invitation " in result.stdout
    # The README's staff member can sign in: a personal number on file, active, organiser and host.
    assert "Elin Nyström: host,organiser can sign in" in out, result.stdout
    states = re.findall(r"(?:sms|email) invitation (\w+)", result.stdout)
    assert states and set(states) <= {"pending", "sending", "sent"}, result.stdout
