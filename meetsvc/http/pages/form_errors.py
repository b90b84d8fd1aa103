"""Refused forms in words: a broken rule becomes a sentence from the person's catalogue.

The booking rules speak the API's language (a JSON pointer, a stable rule name, an English
detail for developers). A staff page must instead name the field as the form labels it and say
how to put it right, in Swedish or English; so a page never shows the API's text, only
``field.<name>`` and ``rule.<rule>`` from the catalogues. A number in the rule's detail (a
length, a count of days or minutes) is carried into the sentence.
"""

from __future__ import annotations

import re

from meetsvc.domain.errors import DomainError, RuleViolation, Violation
from meetsvc.domain.model import Language
from meetsvc.http.pages.i18n import catalogue, translate


def field_name(pointer: str) -> str:
    """``/host_ids/1`` → ``host_ids``: the form field a pointer is about."""
    return pointer.strip("/").split("/", 1)[0] or "form"


def violation_sentence(language: Language, violation: Violation) -> str:
    texts = catalogue(language)
    field_key, rule_key = f"field.{field_name(violation.field)}", f"rule.{violation.rule}"
    number = re.search(r"\d+", violation.message)
    problem = translate(language, rule_key if rule_key in texts else "rule.other", n=number.group() if number else "")
    field = translate(language, field_key if field_key in texts else "field.form")
    return translate(language, "form.violation", field=field, problem=problem)


def form_messages(language: Language, error: DomainError) -> list[str]:
    """What the person must correct, one sentence per broken rule."""
    if isinstance(error, RuleViolation):
        return [violation_sentence(language, v) for v in error.violations]
    key = f"error.code.{error.code}"
    return [translate(language, key if key in catalogue(language) else "error.code.other")]
