"""Messages from templates: `notify/<template>.<channel>.<language>.txt`, kept by the app that sends them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import Context, TemplateDoesNotExist
from django.template.loader import select_template
from django.utils import translation

FALLBACK_LANGUAGES = ("zh-hans", "en")
# Channels whose first line is the subject (a letter's heading, an e-mail's subject line).
SUBJECT_CHANNELS = frozenset({"letter", "email"})


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str


def language_of(value: str | None) -> str:
    """A language code Doorstep has templates for: the value given, else the site's default."""
    code = (value or settings.LANGUAGE_CODE or FALLBACK_LANGUAGES[0]).strip().lower().replace("_", "-")
    known = {code.lower() for code, _label in settings.LANGUAGES}
    if code in known:
        return code
    base = code.split("-")[0]
    for candidate in known:
        if candidate.split("-")[0] == base:
            return candidate
    return FALLBACK_LANGUAGES[0]


def template_names(template: str, channel: str, language: str) -> list[str]:
    names = [f"notify/{template}.{channel}.{language}.txt"]
    names += [f"notify/{template}.{channel}.{other}.txt" for other in FALLBACK_LANGUAGES if other != language]
    return names


def message_render(*, template: str, channel: str, language: str, context: dict[str, Any]) -> Rendered:
    """Render plain text (no HTML escaping) in `language`; a missing language falls back to zh-Hans, then English."""
    try:
        found = select_template(template_names(template, channel, language))
    except TemplateDoesNotExist as missing:
        raise TemplateDoesNotExist(f"notify/{template}.{channel}.<language>.txt") from missing
    used = found.origin.template_name.rsplit(".", 2)[-2] if found.origin.template_name else language
    with translation.override(used):
        text = found.template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]
    text = text.strip("\n")
    subject = ""
    if channel in SUBJECT_CHANNELS:
        first, _newline, rest = text.partition("\n")
        subject, text = first.strip(), rest.lstrip("\n")
    lines = [line.rstrip() for line in text.splitlines()]
    return Rendered(language=used, subject=subject[:200], body="\n".join(lines).strip())
