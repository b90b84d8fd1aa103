"""Message texts from template files that IT can change without touching code.

The built-in texts live in ``meetsvc/notify/templates/<language>/<kind>.<part>``:
languages ``sv`` and ``en``; kinds ``invitation``, ``update``, ``cancellation``, ``reminder``,
``withdrawal``; parts ``subject`` (e-mail subject, one line), ``txt`` (e-mail body, also the
calendar file's DESCRIPTION) and ``sms`` (none for ``withdrawal``, which only e-mail carries).
``notify.templates_dir`` names a folder of the same shape whose files replace the built-in
ones file by file.

Templates are Jinja2 with autoescaping off (the output is plain text, not HTML) and strict
undefined variables. They only ever receive the values in :data:`VARIABLES`, none of which is
personal beyond the recipient's own link. Every template is read, compiled and tried once at
start, so a typo stops the service with the file's name instead of failing a message later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, StrictUndefined, Template, TemplateError

from meetsvc.domain.messages import MessageKind

BUILT_IN = Path(__file__).with_name("templates")
LANGUAGES = ("sv", "en")
PARTS = ("subject", "txt", "sms")

#: What a template may use, with a sample value used to try every template at start.
VARIABLES: Mapping[str, str] = {
    "meeting": "möte",
    "heading": "Möte med Exempelstads kommun",
    "organisation": "Exempelstads kommun",
    "date": "tisdag 14 juli 2026",
    "start": "10.00",
    "end": "11.00",
    "when": "tisdag 14 juli 2026 kl. 10.00–11.00",
    "link": "https://sip-mote.example.se/i/" + "x" * 43,
    "contact_phone": "0771-123 456",
}

# An SMS of up to three concatenated segments (3 × 153 GSM characters) still reaches every phone.
MAX_SMS_CHARACTERS = 459
MAX_SUBJECT_CHARACTERS = 300


class TemplateProblem(Exception):
    """A template file is missing, unknown, or does not render; the message names the file."""


@dataclass(frozen=True, slots=True)
class RenderedTexts:
    subject: str
    body: str
    sms: str


def _name(language: str, kind: str, part: str) -> str:
    return f"{language}/{kind}.{part}"


def parts_of(kind: MessageKind) -> tuple[str, ...]:
    # A withdrawal goes to an e-mail address a participant no longer has; never by SMS.
    return ("subject", "txt") if kind is MessageKind.WITHDRAWAL else PARTS


def _expected() -> set[str]:
    return {
        _name(language, kind.value, part) for language in LANGUAGES for kind in MessageKind for part in parts_of(kind)
    }


def _files_in(folder: Path) -> dict[str, Path]:
    return {
        str(path.relative_to(folder).as_posix()): path
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


class MessageTexts:
    """All compiled templates, read once; rendering is pure CPU and safe on the event loop."""

    def __init__(self, templates: Mapping[str, Template], sources: Mapping[str, Path]) -> None:
        self._templates = dict(templates)
        self.sources = dict(sources)

    @classmethod
    def load(cls, override: Path | None = None) -> MessageTexts:
        """Read, compile and try every template: file I/O, so call it in a thread at start."""
        expected = _expected()
        sources = {name: path for name, path in _files_in(BUILT_IN).items() if name in expected}
        if override is not None:
            if not override.is_dir():
                raise TemplateProblem(f"notify.templates_dir {override} is not a folder")
            own = _files_in(override)
            unknown = sorted(set(own) - expected)
            if unknown:
                raise TemplateProblem(
                    f"{override}: unknown template file(s) {', '.join(unknown)}; "
                    "expected <sv|en>/<invitation|update|cancellation|reminder|withdrawal>.<subject|txt|sms>"
                )
            sources.update(own)
        missing = sorted(expected - set(sources))
        if missing:
            raise TemplateProblem(f"message templates missing: {', '.join(missing)}")
        # Plain-text messages (SMS, the text part of e-mail): HTML escaping would show "&amp;" to people.
        environment = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)  # noqa: S701
        templates: dict[str, Template] = {}
        for name, path in sorted(sources.items()):
            try:
                templates[name] = environment.from_string(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, TemplateError) as exc:
                raise TemplateProblem(f"{path}: {exc}") from None
        texts = cls(templates, sources)
        texts._try_all()
        return texts

    def _try_all(self) -> None:
        for language in LANGUAGES:
            for kind in MessageKind:
                try:
                    rendered = self.render(language, kind, VARIABLES)
                except TemplateProblem:
                    raise
                except TemplateError as exc:
                    raise TemplateProblem(
                        f"{self.sources[_name(language, kind.value, 'txt')].parent}/{kind.value}.*: {exc}"
                    ) from None
                if not rendered.subject or not rendered.body or (not rendered.sms and "sms" in parts_of(kind)):
                    raise TemplateProblem(f"{language}/{kind.value}: a template renders to nothing")
                if len(rendered.sms) > MAX_SMS_CHARACTERS:
                    raise TemplateProblem(
                        f"{self.sources[_name(language, kind.value, 'sms')]}: "
                        f"renders to {len(rendered.sms)} characters "
                        f"with a typical link; keep an SMS under {MAX_SMS_CHARACTERS}"
                    )

    def _render_part(self, language: str, kind: MessageKind, part: str, values: Mapping[str, str]) -> str:
        name = _name(language, kind.value, part)
        try:
            return self._templates[name].render(**values)
        except TemplateError as exc:
            raise TemplateProblem(f"{self.sources[name]}: {exc}") from None

    def render(self, language: str, kind: MessageKind, values: Mapping[str, str]) -> RenderedTexts:
        """The three texts of one notice. In the SMS, dashes are plain hyphens: an en dash is not
        in the GSM 7-bit alphabet and would make the phone network send the whole text as UCS-2,
        at 70 instead of 160 characters a part (å, ä, ö and é are in it)."""
        if language not in LANGUAGES:
            language = LANGUAGES[0]
        subject = " ".join(self._render_part(language, kind, "subject", values).split())
        if len(subject) > MAX_SUBJECT_CHARACTERS:
            raise TemplateProblem(
                f"{self.sources[_name(language, kind.value, 'subject')]}: subject longer than {MAX_SUBJECT_CHARACTERS}"
            )
        body = self._render_part(language, kind, "txt", values).strip() + "\n"
        sms_values = {name: value.replace("–", "-") for name, value in values.items()}
        sms = self._render_part(language, kind, "sms", sms_values).strip() if "sms" in parts_of(kind) else ""
        return RenderedTexts(subject=subject, body=body, sms=sms)
