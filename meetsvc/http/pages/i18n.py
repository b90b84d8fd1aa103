"""Message catalogues: every text a page shows comes from here, Swedish first.

Catalogues are JSON files per language (``locales/sv.json``); a test checks both hold the same
keys, so no page can show a key instead of a text in one language.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aiohttp import web

from meetsvc.domain.model import Language

LOCALES = Path(__file__).with_name("locales")
LANGUAGE_COOKIE = "meetsvc_lang"


@cache
def catalogue(language: Language) -> dict[str, str]:
    return json.loads((LOCALES / f"{language.value}.json").read_text(encoding="utf-8"))


def load_catalogues() -> None:
    """Read every catalogue once at start, so no page read touches the disk."""
    for language in Language:
        catalogue(language)


def translate(language: Language, key: str, **values: str) -> str:
    text = catalogue(language).get(key) or catalogue(Language.SV).get(key) or key
    return text.format(**values) if values else text


def request_language(request: web.Request, default: Language | None = None) -> Language:
    """The cookie the person chose, else the given default (their invitation's), else Swedish."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in ("sv", "en"):
        return Language(chosen)
    return default or Language.SV
