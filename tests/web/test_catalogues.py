"""Every text exists in both languages, and every key a template or script asks for exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "meetsvc" / "http" / "pages"


def catalogue(language: str) -> dict[str, str]:
    return json.loads((WEB / "locales" / f"{language}.json").read_text(encoding="utf-8"))


def test_swedish_and_english_have_the_same_keys():
    assert set(catalogue("sv")) == set(catalogue("en"))


def test_no_text_is_empty():
    for language in ("sv", "en"):
        assert all(text.strip() for text in catalogue(language).values()), language


def test_every_key_a_template_uses_exists():
    used = set()
    for template in (WEB / "templates").glob("*.html"):
        used |= set(re.findall(r"""t\(\s*["']([a-z_.]*[a-z_])["']\s*[,)]""", template.read_text()))
    assert used, "no texts found in the templates"
    assert used <= set(catalogue("sv")), sorted(used - set(catalogue("sv")))


def test_placeholders_agree_between_languages():
    sv, en = catalogue("sv"), catalogue("en")
    for key in sv:
        assert set(re.findall(r"{(\w+)}", sv[key])) == set(re.findall(r"{(\w+)}", en[key])), key
