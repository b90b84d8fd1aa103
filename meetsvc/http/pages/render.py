"""Rendering pages: templates, language, security headers, readable error pages.

Templates are autoescaped, so a name or message with markup shows as text. Pages get a strict
Content-Security-Policy: scripts and styles only from our own /static, nothing inline, no frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from meetsvc.domain.model import Language
from meetsvc.http.pages.i18n import request_language, translate

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    auto_reload=False,
    enable_async=False,
)


def _safe_next(path: str) -> str:
    """Only local paths: a language switch must not become an open redirect."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    language: Language | None = None,
) -> web.Response:
    lang = language or request_language(request)
    other = Language.EN if lang is Language.SV else Language.SV
    here = request.rel_url.path if request.method == "GET" else "/"
    values = {
        "lang": lang.value,
        "other_lang": other.value,
        "here": _safe_next(here),
        "t": lambda key, **kw: translate(lang, key, **kw),
        **(context or {}),
    }
    body = environment.get_template(template).render(values)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: web.Request, status: int, message_key: str, language: Language | None = None) -> web.Response:
    lang = language or request_language(request)
    return render(request, "error.html", {"message": translate(lang, message_key)}, status=status, language=lang)


def quote_path(path: str) -> str:
    return quote(path, safe="/")


def preload_templates() -> None:
    """Compile every template once at start (off the event loop): no page render reads a file."""
    for path in TEMPLATES.glob("*.html"):
        environment.get_template(path.name)
