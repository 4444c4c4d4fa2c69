"""The language of every face a person reads: gettext catalogs through Babel (issue 25).

Usage (a renderer, the live view, a command):

    from lineside.i18n import translator

    t = translator(config.site.locale)      # "zh-CN" or "en"; None -> DEFAULT_LOCALE
    t._("Automation rate")                  # -> "自动化率" in zh-CN
    t.ngettext("{n} deviation", "{n} deviations", n).format(n=n)
    t.pgettext("column", "Mean")            # a context where one English word has two senses
    t.state("starved"), t.stage_kind("cleaning"), t.ccp_kind("cold_storage")
    plant_stamp(now, "Asia/Shanghai")       # "2026-12-01 09:00 Asia/Shanghai (UTC+08:00)"

Messages are written in English in the code (the msgid) and translated in
`lineside/locale/<ll_CC>/LC_MESSAGES/lineside.po`. There is no compiled `.mo` in the
repository or the wheel: the `.po` is compiled in memory with Babel the first time a
locale is asked for (a few milliseconds), so a source checkout, an editable install and
the wheel read the same file and nothing can go stale. English needs no catalog.

Adding or changing a message: write `t._("...")` in the code, then

    pybabel extract -F babel.cfg -o /tmp/lineside.pot lineside deploy/grafana/boards
    pybabel update -i /tmp/lineside.pot -d lineside/locale -D lineside --no-fuzzy-matching

and fill in the new `msgstr`. `tests/i18n/test_catalog.py` fails while any message of the
code is missing from the catalog or has no translation. Values that come from data
(state, stage-kind and CCP-kind names) go through `state`, `stage_kind`, `ccp_kind`
(`name(context, value)`), whose one table lists every literal so that extraction sees
them.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

Locale = Literal["zh-CN", "en"]
LOCALES: tuple[str, ...] = ("zh-CN", "en")
#: The district's officials and plant managers read Chinese (docs/design.md, "Language").
DEFAULT_LOCALE: Locale = "zh-CN"
DOMAIN = "lineside"
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:  # gettext's name for a marker
    """Marks a message where a table defines it (extraction sees it there); the table's
    reader translates it with `Translator.marked`."""
    return message


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _catalog(locale: str) -> gettext.NullTranslations:
    if locale == "en":
        return gettext.NullTranslations()  # the msgids are English
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path(locale).open("rb") as f:
        cat = read_po(f, locale=locale.replace("-", "_"), domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, cat)  # fuzzy entries are left out, as msgfmt does
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Translator:
    """The messages of one locale; cheap to pass around, one per locale (cached)."""

    def __init__(self, locale: str) -> None:
        if locale not in LOCALES:
            raise ValueError(f"unknown locale {locale!r} (one of {', '.join(LOCALES)})")
        self.locale = locale
        self._t = _catalog(locale)
        self._names = _data_names(self)

    @property
    def html_lang(self) -> str:
        return self.locale

    def _(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._t.pgettext(context, message)

    def marked(self, message: str) -> str:
        """A message marked with `N_` where it was written (lineside/cli/main.py COMMANDS)."""
        return self._t.gettext(message)

    def name(self, context: str, value: str) -> str:
        """A name that comes from data, in its context's table; unknown ones as is."""
        return self._names[context].get(value, value)

    def state(self, name: str) -> str:
        """A machine state's name (docs/design.md, "Machine states")."""
        return self.name(_STATE, name)

    def stage_kind(self, name: str) -> str:
        return self.name(_STAGE_KIND, name)

    def ccp_kind(self, name: str) -> str:
        return self.name(_CCP_KIND, name)


@functools.cache
def translator(locale: str | None = None) -> Translator:
    return Translator(locale or DEFAULT_LOCALE)


def plant_stamp(when: dt.datetime, tz: str, seconds: bool = False) -> str:
    """An instant in the plant's zone, the zone named: "2026-12-01 09:00 Asia/Shanghai
    (UTC+08:00)". Stamps a person reads never leave the zone to be guessed."""
    local = when.astimezone(ZoneInfo(tz))
    off = local.strftime("%z")
    off = f"{off[:3]}:{off[3:]}" if off else "+00:00"
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    zone = "UTC" if tz == "UTC" else f"{tz} (UTC{off})"
    return f"{local.strftime(fmt)} {zone}"


# One literal table (extraction sees each message); tests/i18n checks it covers the
# configuration's STATES, STAGE_KINDS and CCP_KINDS.
_STATE, _STAGE_KIND, _CCP_KIND = "machine state", "stage kind", "CCP kind"


def _data_names(t: Translator) -> dict[str, dict[str, str]]:
    """Names that come from data, by the context they are translated in."""
    return {
        _STATE: {
            "producing": t.pgettext("machine state", "producing"),
            "idle": t.pgettext("machine state", "idle"),
            "starved": t.pgettext("machine state", "starved"),
            "blocked": t.pgettext("machine state", "blocked"),
            "fault": t.pgettext("machine state", "fault"),
            "setup": t.pgettext("machine state", "setup"),
            "cleaning": t.pgettext("machine state", "cleaning"),
            "maintenance": t.pgettext("machine state", "maintenance"),
            "unknown": t.pgettext("machine state", "unknown"),
        },
        _STAGE_KIND: {
            "cleaning": t.pgettext("stage kind", "cleaning"),
            "thawing": t.pgettext("stage kind", "thawing"),
            "cutting": t.pgettext("stage kind", "cutting"),
            "peeling": t.pgettext("stage kind", "peeling"),
            "dehairing": t.pgettext("stage kind", "dehairing"),
            "mixing": t.pgettext("stage kind", "mixing"),
            "frying": t.pgettext("stage kind", "frying"),
            "heating": t.pgettext("stage kind", "heating"),
            "packaging": t.pgettext("stage kind", "packaging"),
            "other": t.pgettext("stage kind", "other"),
        },
        _CCP_KIND: {
            "frying": t.pgettext("CCP kind", "frying"),
            "pasteurization": t.pgettext("CCP kind", "pasteurization"),
            "cooking": t.pgettext("CCP kind", "cooking"),
            "blanching": t.pgettext("CCP kind", "blanching"),
            "chilling": t.pgettext("CCP kind", "chilling"),
            "cold_storage": t.pgettext("CCP kind", "cold storage"),
            "freezing": t.pgettext("CCP kind", "freezing"),
            "metal_detection": t.pgettext("CCP kind", "metal detection"),
            "other": t.pgettext("CCP kind", "other"),
        },
    }
