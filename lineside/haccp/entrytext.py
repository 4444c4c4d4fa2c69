"""A deviation's corrective actions, lot dispositions and verification in words, for
the HACCP record (render.py) and the lot record (lotrender.py): what was done, by whom
and when, in the record's zone — or, plainly, what is still missing and for how long."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from lineside.haccp.record import Deviation, Entry
from lineside.i18n import Translator


def when(ns: int, tz: str) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def disposition_name(t: Translator, d: str) -> str:
    """A lot's fate in words."""
    return {"hold": t._("Hold"), "rework": t._("Rework"), "destroy": t._("Destroy"),
            "release": t._("Release")}.get(d, d)


def signed(e: Entry, t: Translator, tz: str) -> str:
    """"wang, 2026-11-30 07:00": who entered it and when."""
    return t._("{who}, {when}").format(who=e.by, when=when(e.at_ns, tz))


def age(seconds: float, t: Translator) -> str:
    """How long ago: "3 h 20 min", "2 d 4 h", "15 min"."""
    m = max(0, int(seconds // 60))
    d, h, mi = m // 1440, m // 60 % 24, m % 60
    if d:
        return t._("{days} d {hours} h").format(days=d, hours=h)
    if h:
        return t._("{hours} h {minutes} min").format(hours=h, minutes=mi)
    return t._("{minutes} min").format(minutes=mi)


def action_text(d: Deviation, names: dict[str, str], t: Translator, tz: str,
                now_ns: int) -> str:
    """Each corrective action (its configured name, the free text, who and when), or
    "no action yet" with the deviation's age."""
    if not d.actions:
        return t._("no action yet ({age} since its start)").format(
            age=age((now_ns - d.start_ns) / 1e9, t))
    out = []
    for a in d.actions:
        what = names.get(a.action) or a.action
        what += f": {a.text}" if a.text else ""
        out.append(f"{what} ({signed(a, t, tz)})")
    return "; ".join(out)


def lot_text(lot: str, e: Entry | None, t: Translator, tz: str) -> str:
    """"1202: Release — re-pasteurized (wang, …)" or "1203: no disposition yet"."""
    if e is None:
        return t._("{lot}: no disposition yet").format(lot=lot)
    fate = disposition_name(t, e.disposition)
    fate += f" — {e.justification}" if e.justification else ""
    return f"{lot}: {fate} ({signed(e, t, tz)})"


def lots_text(d: Deviation, t: Translator, tz: str) -> str:
    """The affected lots with their dispositions; none known while the deviation is open
    (the engine writes them once it has ended, docs/lots.md)."""
    if d.lots:
        return "; ".join(lot_text(k, e, t, tz) for k, e in d.lots.items())
    if d.end_ns is None:
        return t._("known once the deviation has ended")
    return t._("no lot recorded")


def verification_text(d: Deviation, t: Translator, tz: str, now_ns: int) -> str:
    v = d.verification
    if v is None:
        return t._("not verified ({age} since its start)").format(
            age=age((now_ns - d.start_ns) / 1e9, t))
    return signed(v, t, tz) + (f": {v.text}" if v.text else "")
