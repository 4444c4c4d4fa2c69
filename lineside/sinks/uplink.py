"""What may leave a factory through a bureau uplink (a sink with `role: bureau`).

The district bureau receives aggregates only (docs/design.md, "Safety and security"): the
`automation` points (per stage, line and enterprise: the sums the bureau rebuilds the
rates from), the line- and site-level `oee` / `oee_shift` points and the `ccp_bureau`
counts and minutes of CCP deviations per CCP kind. No machine detail,
no stage OEE, no raw `signal` values, no `machine_state` events, no free text.

`SinkSet.enqueue` passes every point offered to a bureau sink through
`prepare_for_uplink`, so the rule holds whatever the configuration says: a point the filter
refuses is never written to that sink's queue. The filter is an allow-list on purpose
(measurement, level, tag keys, field types): a measurement or tag added to the engine
later stays inside the factory until someone decides here that it may leave.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from lineside.points import FieldValue, Point

#: Measurements that may leave at all.
UPLINK_MEASUREMENTS: frozenset[str] = frozenset({"automation", "oee", "oee_shift",
                                                  "ccp_bureau", "haccp_bureau"})

#: `level` values of oee/oee_shift points that may leave (no stage, no machine).
UPLINK_OEE_LEVELS: frozenset[str] = frozenset({"line", "site"})

#: Tag keys an uplink point may carry. `machine`, `signal`, `state`, `reason` and any
#: tag invented later are refused: they would identify equipment or carry text.
#: `gateway` tells apart the agents of one plant (site-level points).
UPLINK_TAG_KEYS: frozenset[str] = frozenset({
    "enterprise", "enterprise_name", "region", "site", "gateway", "line", "level",
    "stage_kind", "shift", "shift_date",
})
#: Name tags (docs/design.md, schema) that stay in the factory: the names of lines,
#: stages, machines and CCPs are the plant's own words (products, equipment). They are
#: taken off a point before the filter, so a line-level point still leaves by its ids.
#: The enterprise's name is the bureau's to show and stays.
PLANT_NAME_TAGS: frozenset[str] = frozenset({
    "site_name", "line_name", "stage_name", "machine_name", "ccp_name"})
#: `stage` leaves on automation points only: two stages of one kind are two stages of
#: the line's rate (docs/design.md), so the bureau needs each one's sums.
UPLINK_AUTOMATION_TAG_KEYS: frozenset[str] = UPLINK_TAG_KEYS | {"stage"}
#: `level` values of automation points that may leave.
UPLINK_AUTOMATION_LEVELS: frozenset[str] = frozenset({"stage", "line", "enterprise"})

#: `ccp_kind` leaves on the per-kind CCP aggregates only, with these fields only: counts
#: and durations, never a temperature, a min or a max (docs/haccp.md, "Bureau").
UPLINK_CCP_TAG_KEYS: frozenset[str] = UPLINK_TAG_KEYS | {"ccp_kind"}
CCP_BUREAU_FIELDS: frozenset[str] = frozenset({
    "ccps", "deviations", "deviation_s", "losses", "lost_s", "monitored_s"})
#: Safety supervision per CCP kind (issue 27): counts only, never a lot, product or text.
HACCP_BUREAU_FIELDS: frozenset[str] = frozenset({"unanswered_24h", "lots_on_hold"})
_KIND_FIELDS = {"ccp_bureau": CCP_BUREAU_FIELDS, "haccp_bureau": HACCP_BUREAU_FIELDS}

#: Tags every uplink point must carry so the bureau can tell enterprises apart.
REQUIRED_UPLINK_TAGS: tuple[str, ...] = ("enterprise", "region")


def _numeric(v: FieldValue) -> bool:
    # bool is an int subclass; both are plain numbers. Strings could carry anything
    # (reasons, product names, raw values), so they never leave.
    if isinstance(v, bool | int):
        return True
    return isinstance(v, float) and math.isfinite(v)


def uplink_refusal(point: Point) -> str | None:
    """Why `point` may not leave through a bureau uplink, or None when it may."""
    m = point.measurement
    if m not in UPLINK_MEASUREMENTS:
        return f"measurement {m!r} never leaves the factory"
    tags = point.tags
    allowed = {"automation": UPLINK_AUTOMATION_TAG_KEYS, "ccp_bureau": UPLINK_CCP_TAG_KEYS,
               "haccp_bureau": UPLINK_CCP_TAG_KEYS}.get(m, UPLINK_TAG_KEYS)
    extra = sorted(k for k, v in tags.items() if k not in allowed and v != "")
    if extra:
        return f"{m}: tag(s) {', '.join(extra)} carry detail the bureau must not receive"
    level = tags.get("level", "")
    if m in ("oee", "oee_shift"):
        if level not in UPLINK_OEE_LEVELS:
            return f"{m}: level {level!r} is below line level"
        if m == "oee" and (tags.get("shift") or tags.get("shift_date")):
            return "oee: shift tags belong to oee_shift"
    elif m in _KIND_FIELDS:
        if level != "ccp_kind" or not tags.get("ccp_kind"):
            return f"{m}: only the per-kind aggregate (level ccp_kind) leaves"
        extra_f = sorted(set(point.fields) - _KIND_FIELDS[m])
        if extra_f:
            return f"{m}: field(s) {', '.join(extra_f)} may not leave"
    elif level not in UPLINK_AUTOMATION_LEVELS:
        return f"automation: level {level!r} is not an aggregate level"
    if not point.fields:
        return f"{m}: no fields"
    bad = sorted(k for k, v in point.fields.items() if not _numeric(v))
    if bad:
        return f"{m}: non-numeric field(s) {', '.join(bad)}"
    return None


def allowed_on_uplink(point: Point) -> bool:
    """True when `point` is an aggregate the bureau may receive (see module doc)."""
    return uplink_refusal(point) is None


def tag_for_uplink(point: Point, enterprise: str, region: str) -> Point:
    """`point` with the enterprise id and region code the agent is registered with.

    oee points carry no `region` tag inside the factory; the uplink adds it. The
    configured identity wins over whatever the point carried, so one agent can only
    ever speak for its own enterprise.
    """
    tags: dict[str, str] = dict(point.tags)
    tags["enterprise"] = enterprise
    tags["region"] = region
    return Point(point.measurement, tags, point.fields, point.ts_ns)


def uplink_tag_problems(tags: Mapping[str, str], enterprise: str, region: str) -> list[str]:
    """Problems with the identity tags of an uplink point (empty when it is fine)."""
    problems: list[str] = []
    for key in REQUIRED_UPLINK_TAGS:
        if not tags.get(key):
            problems.append(f"missing tag {key!r}")
    if tags.get("enterprise") and tags["enterprise"] != enterprise:
        problems.append(f"enterprise {tags['enterprise']!r} is not {enterprise!r}")
    if tags.get("region") and tags["region"] != region:
        problems.append(f"region {tags['region']!r} is not {region!r} "
                        f"(registered for {enterprise!r})")
    return problems


def prepare_for_uplink(points: Sequence[Point], enterprise: str, region: str) -> list[Point]:
    """The points of `points` that may leave, tagged with the agent's identity.

    The one uplink path: `SinkSet.enqueue` queues exactly this for every bureau sink.
    Filter, then tag (tagging never makes a refused point acceptable: region and
    enterprise are on the allow-list anyway).
    """
    return [tag_for_uplink(p, enterprise, region) for p in map(_without_plant_names, points)
            if allowed_on_uplink(p)]


def _without_plant_names(p: Point) -> Point:
    if PLANT_NAME_TAGS.isdisjoint(p.tags):
        return p
    return Point(p.measurement, {k: v for k, v in p.tags.items() if k not in PLANT_NAME_TAGS},
                 p.fields, p.ts_ns)
