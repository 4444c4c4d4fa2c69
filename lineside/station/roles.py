"""Who may do what at the station (docs/station.md, "Users and roles")."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["operator", "supervisor", "qa", "viewer"]
ROLES: tuple[str, ...] = get_args(Role)

#: view: read every page; classify: give a reason to a stop that has none (a PLC-table
#: reason counts as one); reclassify: change a stop's reason; note: write handover notes;
#: sign: sign a shift handover; lot: start and end a lot on a line; act: enter a
#: deviation's corrective action and its lots' dispositions; verify: verify them (the
#: engine also wants the qa role and someone who entered none of its actions).
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view"}),
    "operator": frozenset({"view", "classify", "note", "lot"}),
    "supervisor": frozenset({"view", "classify", "reclassify", "note", "sign", "lot", "act"}),
    "qa": frozenset({"view", "note", "sign", "act", "verify"}),
}


def may(role: str, action: str) -> bool:
    return action in PERMISSIONS.get(role, frozenset())
