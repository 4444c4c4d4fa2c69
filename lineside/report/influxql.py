"""The automation rebuild rules (docs/design.md) as InfluxQL, for every dashboard.

InfluxQL has no join, so each level of the rebuild is one nested subquery over the
stage-level `automation` points, which carry every sum needed (`auto_ideal_units`,
`run_ideal_units`, `weight`, `line_planned_busy_s`):

    stage_sums  Σ per stage (and per interval)               -> a, u, w, p
    line_rate   Σ w·(a/u) / Σ w over stages with u > 0       -> rate, p
    site_rate   Σ p·rate / Σ p over lines with p > 0         -> rate

`$timeFilter` is repeated at every level (an aggregate without GROUP BY time is dated
at the range start, which the outer filter keeps). `where` is extra conditions
(template filters), `group` the tags the answer is split by, `interval` an optional
GROUP BY time argument such as `$__interval` or `1d, -8h`. Site- and enterprise-level
points are never read: the lines of a plant split across agents are all summed here.
The same statements are checked against the engine and `lineside report` to 1e-6 by
tests/bureau/test_rebuild.py.
"""

from __future__ import annotations

STAGE_TAGS = ("enterprise", "site", "line", "stage")
LINE_TAGS = ("enterprise", "site", "line")


def _tags(group: tuple[str, ...], own: tuple[str, ...]) -> list[str]:
    return [f'"{t}"' for t in dict.fromkeys((*group, *own))]


def _group_by(tags: list[str], interval: str | None) -> str:
    items = ([f"time({interval})"] if interval else []) + tags
    return (" GROUP BY " + ", ".join(items) + (" fill(none)" if interval else "")) \
        if items else ""


def _and(where: str) -> str:
    return f" AND {where}" if where.strip() else ""


def stage_sums(where: str = "", group: tuple[str, ...] = (),
               interval: str | None = None) -> str:
    """Per stage: a = Σ auto_ideal_units, u = Σ run_ideal_units, w = weight,
    p = Σ line_planned_busy_s (its line's planned busy time)."""
    return ('SELECT sum("auto_ideal_units") AS "a", sum("run_ideal_units") AS "u", '
            'max("weight") AS "w", sum("line_planned_busy_s") AS "p" FROM "automation" '
            f"WHERE \"level\" = 'stage'{_and(where)} AND $timeFilter"
            + _group_by(_tags(group, STAGE_TAGS), interval))


def stage_rate(where: str = "", group: tuple[str, ...] = (), interval: str | None = None,
               alias: str = "rate") -> str:
    """Per stage: Σ a / Σ u, absent where nothing ran (a manual stage: 0 while its
    line ran)."""
    return (f'SELECT "a" / "u" AS "{alias}" FROM ({stage_sums(where, group, interval)}) '
            f'WHERE "u" > 0 AND $timeFilter' + _group_by(_tags(group, STAGE_TAGS), None))


def line_rate(where: str = "", group: tuple[str, ...] = (), interval: str | None = None,
              alias: str = "rate") -> str:
    """Per line: stage rates weighted by `weight`; column `p` = its planned busy time."""
    weighted = (f'SELECT "a" / "u" * "w" AS "wr", "w", "p" FROM '
                f'({stage_sums(where, group, interval)}) WHERE "u" > 0 AND $timeFilter'
                + _group_by(_tags(group, STAGE_TAGS), None))
    return (f'SELECT sum("wr") / sum("w") AS "{alias}", max("p") AS "p" FROM ({weighted}) '
            "WHERE $timeFilter" + _group_by(_tags(group, LINE_TAGS), interval))


def site_rate(where: str = "", group: tuple[str, ...] = (), interval: str | None = None,
              alias: str = "rate") -> str:
    """Over the lines selected (per `group`): line rates weighted by planned busy time."""
    weighted = (f'SELECT "rate" * "p" AS "rp", "p" FROM '
                f'({line_rate(where, group, interval)}) WHERE "p" > 0 AND $timeFilter'
                + _group_by(_tags(group, LINE_TAGS), None))
    return (f'SELECT sum("rp") / sum("p") AS "{alias}" FROM ({weighted}) WHERE $timeFilter'
            + _group_by([f'"{t}"' for t in group], interval))
