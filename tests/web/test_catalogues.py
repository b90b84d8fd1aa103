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


def _rules_and_fields() -> tuple[set[str], set[str]]:
    """Every rule name and field a refusal can carry, read from where the rules are written."""
    sources = WEB.parents[1]
    rules, fields = set(), set()
    for path in sources.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for field, rule in re.findall(r'Violation(?:\.single)?\(\s*f?"(/[a-z_]*)[^"]*",\s*f?"([a-z_]+)', text):
            rules.add(rule)
            fields.add(field.strip("/") or "form")
        rules |= set(re.findall(r'Violation\(\s*field,\s*"([a-z_]+)"', text))
    assert {"after_start", "required_for_role", "no_personal_number"} <= rules, "the scan finds the rules"
    return rules, fields


def test_every_validation_rule_and_field_has_words_in_both_languages():
    rules, fields = _rules_and_fields()
    reasons = {"format", "checksum", "date", "future"}  # identity.personnummer.InvalidPersonalNumber
    needed = {f"rule.{r}" for r in rules} | {f"rule.personal_number_{r}" for r in reasons}
    needed |= {f"field.{f}" for f in fields} | {"field.personal_number", "field.date", "field.role"}
    for language in ("sv", "en"):
        assert needed <= set(catalogue(language)), sorted(needed - set(catalogue(language)))


def test_every_key_a_script_is_given_exists():
    """The texts the pages hand their scripts (waiting room, meeting, host panel)."""
    from meetsvc.http.pages.participant import LOBBY_TEXT_KEYS
    from meetsvc.http.pages.routes import VIDEO_TEXT_KEYS
    from meetsvc.http.pages.staff import HOST_TEXT_KEYS

    needed = set(LOBBY_TEXT_KEYS) | set(VIDEO_TEXT_KEYS) | set(HOST_TEXT_KEYS)
    for language in ("sv", "en"):
        assert needed <= set(catalogue(language)), sorted(needed - set(catalogue(language)))
