"""Every word of the station's pages, through the site's catalog (lineside/i18n.py).

Templates read `T.<key>`; the literals stay in Python so that `pybabel extract -F
babel.cfg` finds them like every other message.
"""

from __future__ import annotations

import re

from lineside.i18n import N_, Translator


def texts(t: Translator) -> dict[str, str]:
    _ = t._
    return {
        "title": _("Operator station"),
        "live": _("Live"),
        "stops": _("Stops"),
        "pareto": _("Downtime Pareto"),
        "handover": _("Shift handover"),
        "login": _("Log in"),
        "logout": _("Log out"),
        "user": _("User"),
        "password": _("Password"),
        "bad_login": _("Wrong user name or password."),
        "throttled": _("Too many wrong passwords: try again in {minutes} min."),
        "forbidden": _("Your role may not do this."),
        "csrf": _("This form is out of date: reload the page and try again."),
        "awaiting": _("awaiting a reason"),
        "machine": _("Machine"),
        "state": _("State"),
        "since": _("since {time}"),
        "start": _("Start"),
        "duration": _("Duration"),
        "fault_code": _("PLC fault"),
        "reason": _("Reason"),
        "by": _("By"),
        "classify": _("Classify"),
        "reclassify": _("Reclassify"),
        "unclassified": _("Unclassified"),
        "ongoing": _("ongoing"),
        "no_stops": _("No stops."),
        "shift": t.pgettext("pareto range", "Shift"),  # this shift (本班), not a column
        "day": _("Day"),
        "range": _("Range"),
        "from": _("From"),
        "to": _("To"),
        "show": _("Show"),
        "seconds": _("Minutes"),
        "count": _("Stops"),
        "share": _("Share"),
        "total": _("Total"),
        "classified_rate": _("Classified: {rate} of the stop time"),
        "availability": _("Availability"),
        "performance": _("Performance"),
        "quality": _("Quality"),
        "oee": _("OEE"),
        "automation": _("Automation rate"),
        "line": _("Line"),
        "top_losses": _("Top losses"),
        "ccps": _("Critical control points"),
        "deviations": _("Deviations"),
        "losses": _("Losses of monitoring"),
        "status": _("Status"),
        "notes": _("Notes"),
        "add_note": _("Add note"),
        "sign": _("Sign the handover"),
        "signed": _("Signed by {name} at {time}"),
        "not_signed": _("Not signed yet."),
        "updated": _("Updated {time}"),
        "saved": _("Saved."),
        "refused": _("Not done: {why}"),
        "no_shift": _("No shift is open."),
        "lots": _("Lots"),
        "lot": _("Lot"),
        "current_lot": _("Running now"),
        "no_lot": _("no lot"),
        "recent_lots": _("Recent lots"),
        "no_lots": _("No lots."),
        "end": _("End"),
        "machines": _("Machines"),
        "counts": _("Good / reject / total"),
        "affected_by": _("Affected by"),
        "start_lot": _("Start lot"),
        "end_lot": _("End lot"),
        "deviations_page": t.pgettext("station page", "Deviations"),
        "no_deviations": _("No deviations."),
        "no_ccps": _("No critical control points are configured."),
        "affected_lots": _("Affected lots"),
        "no_affected_lots": _("No affected lot (yet: they are listed once the deviation "
                              "and its margin have passed)."),
        "disposition": _("Disposition"),
        "justification": _("Justification"),
        "dispose": _("Record the disposition"),
        "corrective_actions": _("Corrective actions"),
        "no_action": _("No corrective action yet."),
        "corrective_action": _("Corrective action"),
        "details": _("Details"),
        "enter_action": _("Record the action"),
        "verification": _("Verification"),
        "verify": _("Verify"),
        "verified": _("Verified by {name} at {time}"),
        "not_verified": _("Not verified yet."),
        "limit": _("Critical limit deviation"),
        "monitoring": _("Loss of monitoring"),
        "entered": _("{name}, {time}"),
    }


def unit_kind(t: Translator, kind: str) -> str:
    """A monitoring-only unit's kind (config/plant.py MONITOR_KINDS), as the terminal's
    live view says it (cli/liveview.py)."""
    return {"cold_room": t.pgettext("equipment", "cold room"),
            "chiller": t.pgettext("equipment", "chiller"),
            "freezer": t.pgettext("equipment", "freezer"),
            "freezer_tunnel": t.pgettext("equipment", "freezer tunnel"),
            "monitor": t.pgettext("equipment", "monitored")}.get(kind, kind)


def disposition(t: Translator, value: str) -> str:
    """A lot's disposition (engine/actions.py DISPOSITIONS)."""
    names = {"hold": t._("Hold"), "rework": t._("Rework"), "destroy": t._("Destroy"),
             "release": t._("Release"), "": t._("not decided yet")}  # as haccp/lotrender.py
    return names.get(value, value)


def deviation_status(t: Translator, status: str) -> str:
    """records.DeviationRow.status."""
    names = {
        "open": t.pgettext("deviation status", "awaiting a corrective action"),
        "unverified": t.pgettext("deviation status", "awaiting verification"),
        "verified": t.pgettext("deviation status", "verified"),
        "closed": t.pgettext("deviation status", "closed without verification"),
    }
    return names.get(status, status)


def refusal(t: Translator, why: str) -> str:
    """The engine's reason for refusing an entry, in the reader's language where it is
    one of the fixed ones (engine/actions.py ActionBook.refusal); else as it is."""
    names = {
        "the author of a corrective action cannot verify it":
            t._("the author of a corrective action cannot verify it"),
        "a release needs a justification": t._("a release needs a justification"),
        "no corrective action to verify": t._("no corrective action to verify"),
        "already verified": t._("already verified"),
        "a verification needs the qa role": t._("a verification needs the QA role"),
        "too many entries": t._("too many entries"),
        "no user": t._("no user"),
        "name a machine or a line": t._("name a machine or a line"),
        "no such stop (or older than reclassify_days)":
            t._("no such stop (or older than its reclassification window)"),
        "older than reclassify_days": t._("older than its reclassification window"),
        "already that reason": t._("already that reason"),
        "too many changes": t._("too many changes"),
        "the deviation is closed: verified, and every affected lot disposed of":
            t._("the deviation is closed: verified, and every affected lot disposed of"),
    }
    if why in names:
        return names[why]
    for pattern, msgid in _PATTERNS:
        if (m := pattern.fullmatch(why)) is not None:
            return t.marked(msgid).format(**m.groupdict())
    return why


#: the engine's refusals that carry a value (engine/actions.py, lots.py, reasons.py), each
#: a pattern of its English text and the message it reads as
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), m) for p, m in (
        (r"already verified by (?P<name>.+)", N_("already verified by {name}")),
        (r"lot '(?P<lot>.*)' is not running there",
         N_("lot {lot} is not running there")),
        (r"not a lot id: '(?P<lot>.*)' \(1 to (?P<n>\d+) characters, not 0\)",
         N_("not a lot id: {lot} (1 to {n} characters)")),
        (r"no line '(?P<line>.*)'", N_("no line {line}")),
        (r"no machine '(?P<machine>.*)'", N_("no machine {machine}")),
        (r"unknown reason '(?P<reason>.*)'", N_("unknown reason {reason}")),
        (r"a deviation of another site \('(?P<site>.*)'; this agent is '(?P<here>.*)'\)",
         N_("a deviation of another site ({site}; this agent is {here})")),
        (r"deviation '(?P<dev>.*)' is closed \(verified and every lot disposed of, or "
         r"older than (?P<days>[\d.]+) days without a lot on hold\)",
         N_("the deviation is closed (verified and every lot disposed of, or older than "
            "{days} days without a lot on hold)")),
        (r"no deviation '(?P<dev>.*)'", N_("no deviation {dev}")),
        (r"the deviation is closed: it started more than (?P<days>[\d.]+) days ago and no "
         r"lot is on hold",
         N_("the deviation is closed: it started more than {days} days ago and no lot is "
            "on hold")),
        (r"a text longer than (?P<n>\d+) characters", N_("a text longer than {n} characters")),
        (r"lot '(?P<lot>.*)' is not an affected lot of this deviation",
         N_("lot {lot} is not an affected lot of this deviation")),
    ))


def role_name(t: Translator, role: str) -> str:
    """A station role (station/roles.py) as the reader calls it."""
    names = {
        "operator": t.pgettext("station role", "operator"),
        "supervisor": t.pgettext("station role", "supervisor"),
        "qa": t.pgettext("station role", "QA"),
        "viewer": t.pgettext("station role", "viewer"),
    }
    return names.get(role, role)


def ccp_status(t: Translator, status: str) -> str:
    """A CCP's status word (engine/ccp.py CcpView.status)."""
    names = {
        "ok": t.pgettext("CCP status", "ok"),
        "warning": t.pgettext("CCP status", "warning"),
        "excursion": t.pgettext("CCP status", "excursion"),
        "deviation": t.pgettext("CCP status", "deviation"),
        "lost": t.pgettext("CCP status", "lost"),
        "not applicable": t.pgettext("CCP status", "not applicable"),
        "no data": t.pgettext("CCP status", "no data"),
    }
    return names.get(status, status)
