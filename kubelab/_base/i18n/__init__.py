"""kubelab in two languages: English (the source) and Korean.

Which language kubelab speaks, in this order:

1. the notebook's `lang` parameter, passed to `kubelab.open_lab(..., lang=lang)`
   (the Korean edition sets `lang = "ko"`; the English one leaves it empty);
2. the `KUBELAB_LANG` environment variable (`en` or `ko`);
3. the locale: `LC_ALL`, `LC_MESSAGES`, then `LANG` (a value starting with `ko` means
   Korean);
4. English.

Messages go through gettext catalogues in `kubelab/_base/locale/<lang>/LC_MESSAGES/`:
`kubelab.po` for kubelab's own messages, and one catalogue per chapter
(`00-start-here.po`, ...) for the chapter's markdown cells and for the strings its code
cells hand to kubelab (check descriptions, hints, skip reasons, `lab.say`), and the
comments of its code cells. Korean code cells are the English ones but for their
comments, so a check line is translated when it is printed: its text is looked up in the
chapter's catalogue. An f-string's msgid is its source template
(`web runs {want} Ready pods`, context `fstring`), matched against the printed text.

The `.mo` files are compiled from the `.po` files by `python tools/i18n.py generate` (in
a checkout; the tool is not part of the wheel); `tests/test_i18n.py` fails when they, or
the Korean notebooks, are out of step.

This module is a leaf: it imports nothing of kubelab, so errors.py can import it.
"""
from __future__ import annotations

import gettext
import os
import re
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"   # kubelab/_base/locale
LANGUAGES = ("en", "ko")
DOMAIN = "kubelab"
FSTRING = "fstring"          # msgctxt of a template msgid taken from an f-string

_explicit: str | None = None


def normalize(value: str | None) -> str | None:
    """'ko', 'ko_KR.UTF-8', 'KO' -> 'ko'; 'en_US', 'C', 'POSIX' -> 'en'; '' -> None."""
    if not value:
        return None
    v = value.strip().lower()
    if v.startswith("ko"):
        return "ko"
    if v.startswith("en") or v.split(".")[0] in ("c", "posix"):
        return "en"
    return None


def from_environment() -> str:
    """KUBELAB_LANG, else the locale (LC_ALL, LC_MESSAGES, LANG), else English."""
    lang = normalize(os.environ.get("KUBELAB_LANG"))
    if lang:
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return normalize(value) or "en"
    return "en"


class UnknownLanguage(ValueError):
    """A language kubelab does not speak. A plain ValueError: this module imports nothing
    of kubelab (errors.py imports it), so its callers say what to do about it."""

    def __init__(self, lang: str) -> None:
        super().__init__(f"unknown language {lang!r}: kubelab speaks {', '.join(LANGUAGES)}.")
        self.lang = lang


def set_language(lang: str | None) -> str:
    """Use `lang` ('en' or 'ko') from now on in this process; '' or None: follow the
    environment again. Returns the language in force; raises UnknownLanguage for any
    other."""
    global _explicit
    if lang and normalize(lang) is None:
        raise UnknownLanguage(lang)
    _explicit = normalize(lang)
    return language()


def language() -> str:
    return _explicit or from_environment()


@lru_cache(maxsize=None)
def catalogue(domain: str, lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(domain, str(LOCALE_DIR), languages=[lang], fallback=True)


def tr(msgid: str, **values: object) -> str:
    """kubelab's own message in the current language, with `{name}` fields filled in."""
    text = catalogue(DOMAIN, language()).gettext(msgid)
    return text.format(**values) if values else text


def N_(msgid: str) -> str:  # noqa: N802 - the gettext name for "mark, translate later"
    """Mark a string for the catalogue where it is defined; `tr` translates it at use."""
    return msgid


# ---------------------------------------------------------------- chapter strings
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """Split an f-string template into (literal, None) and ('', field) parts."""
    parts: list[tuple[str, str | None]] = []
    pos = 0
    for m in _FIELD.finditer(template):
        if m.start() > pos:
            parts.append((template[pos:m.start()], None))
        if m.group(0) in ("{{", "}}"):
            parts.append((m.group(0)[0], None))
        else:
            parts.append(("", m.group(1)))
        pos = m.end()
    if pos < len(template):
        parts.append((template[pos:], None))
    return parts


def template_fields(template: str) -> list[str]:
    return [f for _, f in template_parts(template) if f is not None]


@lru_cache(maxsize=None)
def _matchers(domain: str, lang: str) -> list[tuple[re.Pattern, list[str], str]]:
    cat = catalogue(domain, lang)
    found = []
    for key, msgstr in getattr(cat, "_catalog", {}).items():
        if not isinstance(key, str) or not key.startswith(FSTRING + "\x04") or not msgstr:
            continue
        template = key.split("\x04", 1)[1]
        regex, fields = "", []
        for literal, field in template_parts(template):
            if field is None:
                regex += re.escape(literal)
            else:
                regex += "(.*?)"
                fields.append(field)
        found.append((re.compile(regex + r"\Z", re.S), fields, msgstr))
    return found


def fill(template: str, values: dict[str, str]) -> str:
    return "".join(values.get(field, "{" + field + "}") if field is not None else literal
                   for literal, field in template_parts(template))


def chapter_text(chapter: str, text: str) -> str:
    """A string a chapter's code hands to kubelab, in the current language: looked up in
    the chapter's catalogue as it is, else matched against its f-string templates."""
    lang = language()
    if lang == "en" or not text:
        return text
    cat = catalogue(chapter, lang)
    translated = cat.gettext(text)
    if translated != text:
        return translated
    for regex, fields, msgstr in _matchers(chapter, lang):
        m = regex.match(text)
        if m:
            values: dict[str, str] = {}
            for field, value in zip(fields, m.groups()):
                values.setdefault(field, value)
            return fill(msgstr, values)
    return text


def reload() -> None:
    """Forget loaded catalogues (after `generate` compiled new ones)."""
    catalogue.cache_clear()
    _matchers.cache_clear()
