"""The waiting room guide describes every presence a host may see and every reason an entry
may end: the code's lists and the guide's tables cannot drift apart."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

from meetsvc.services import waiting_room
from meetsvc.services.waiting_room import END_REASONS, PRESENCES, presence

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "waiting-room.md").read_text(encoding="utf-8")


def _returned_strings(function: Callable[..., object]) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.add(node.value.value)
    return found


def test_every_presence_the_code_can_give_is_listed():
    literal = _returned_strings(presence)
    assert literal, "presence() returns no literal: this test no longer reads it"
    assert literal <= set(PRESENCES)


def test_every_presence_has_a_row_in_the_guide():
    for name in PRESENCES:
        assert re.search(rf"^\| `{name}`", GUIDE, re.M) or re.search(rf"^\| `[a-z_]+`, `{name}`", GUIDE, re.M), name


def test_every_reason_an_entry_ends_is_in_the_guide_and_in_both_catalogues():
    import json

    locales = Path(waiting_room.__file__).resolve().parents[1] / "http" / "pages" / "locales"
    catalogues = {lang: json.loads((locales / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("sv", "en")}
    for reason in END_REASONS:
        assert f"`{reason}`" in GUIDE, reason
        for lang, catalogue in catalogues.items():
            assert catalogue.get(f"ended.{reason}"), (lang, reason)
    for lang, catalogue in catalogues.items():
        for name in PRESENCES:
            assert catalogue.get(f"host.presence.{name}"), (lang, name)
