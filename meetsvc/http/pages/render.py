"""Rendering pages: templates, language, security headers, readable error pages.

Templates are autoescaped, so a name or message with markup shows as text. Pages get a strict
Content-Security-Policy: scripts and styles only from our own /static, nothing inline, no frames.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

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


def safe_next(target: str) -> str:
    """``target`` if it is a path on this site, else ``/``: a language switch must not become an
    open redirect.

    Browsers drop tabs and line ends from a ``Location`` and read a backslash as a slash, so
    ``/\t/evil.example`` arrives as ``//evil.example``, another site. So a target with a control
    character, space or backslash is refused, and so is one with a scheme, a host, an empty
    segment (``//``) or a dot segment, as written or once percent-decoded.
    """
    if not target.startswith("/") or any(c == "\\" or unicodedata.category(c)[0] in "CZ" for c in target):
        return "/"
    parts = urlsplit(target)
    path = target.split("?", 1)[0].split("#", 1)[0]  # as written: urlsplit reads "///x" as an empty host
    decoded = unquote(path)
    segments = decoded.split("/")
    if parts.scheme or parts.netloc or "//" in path or "//" in decoded or "." in segments or ".." in segments:
        return "/"
    return target


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    language: Language | None = None,
    here: str | None = None,
    form_targets: tuple[str, ...] = (),
) -> web.Response:
    """``here`` is where the language switch returns to: the page itself with its query (a
    GET), or for a refused form the page that shows that form (the caller says which).

    ``form_targets``: origins besides our own that a form on the page may end up at (a
    form's redirect counts: the staff sign-in form leads to organisations' identity providers)."""
    lang = language or request_language(request)
    other = Language.EN if lang is Language.SV else Language.SV
    if here is None:
        here = str(request.rel_url.with_fragment(None)) if request.method == "GET" else "/"
    values = {
        "lang": lang.value,
        "other_lang": other.value,
        "here": safe_next(here),
        "t": lambda key, **kw: translate(lang, key, **kw),
        **(context or {}),
    }
    body = environment.get_template(template).render(values)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    csp = PAGE_CSP
    if form_targets:
        csp = csp.replace("form-action 'self'", "form-action 'self' " + " ".join(form_targets))
    response.headers["Content-Security-Policy"] = csp
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
