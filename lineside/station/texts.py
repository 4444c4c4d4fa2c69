"""Every word of the station's pages, through the site's catalog (lineside/i18n.py).

Templates read `T.<key>`; the literals stay in Python so that `pybabel extract -F
babel.cfg` finds them like every other message.
"""

from __future__ import annotations

from lineside.i18n import Translator


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
        "shift": _("Shift"),
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
    }


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
