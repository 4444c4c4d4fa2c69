"""InfluxQL of the plant boards: every ratio a ratio of sums, absent when its summed
denominator is 0 (docs/deploy.md, "How the numbers are computed").

Filters are the board's variables as regexes (`"line" =~ /^$line$/`); rows are grouped
by the ids with their names beside them (`by`), and a legend shows the one the `names`
switch selects (`label`: `$tag_${line_label}`).
"""

from __future__ import annotations

from collections.abc import Iterable

SITE = "\"site\" =~ /^$site$/"
LINE = "\"line\" =~ /^$line$/"
STAGE = "\"stage\" =~ /^$stage$/"
MACHINE = "\"machine\" =~ /^$machine$/"
SHIFT = "\"shift\" =~ /^$shift$/"
CCP = "\"ccp\" =~ /^$ccp$/"
CCP_KIND = "\"ccp_kind\" =~ /^$ccp_kind$/"

# The entities a legend names, and the hidden variable holding the tag it shows.
LABELS = {"line": "line_label", "stage": "stage_label", "machine": "machine_label",
          "ccp": "ccp_label", "enterprise": "enterprise_label"}


def by(*ids: str) -> tuple[str, ...]:
    """Group on these ids, each with its name tag beside it (functionally the same
    groups while names are stable: docs/design.md, "Names beside the ids"). Always both:
    InfluxDB 1.6 miscounts nested GROUP BY time when a tag key is listed twice, so the
    `names` switch changes the legend only (`label`), never the grouping."""
    out: list[str] = []
    for i in ids:
        out.append(i)
        if i in LABELS:
            out.append(f"{i}_name")
    return tuple(out)


def label(entity: str, suffix: str = "") -> str:
    """A query alias naming the series by its legend tag: `$tag_${line_label}`."""
    return f"$tag_${{{LABELS[entity]}}}" + (f" {suffix}" if suffix else "")


def where(level: str | None, filters: tuple[str, ...], extra: str = "") -> str:
    parts = [f"\"level\" = '{level}'"] if level else []
    parts += list(filters)
    if extra:
        parts.append(extra)
    parts.append("$timeFilter")
    return " AND ".join(parts)


def group(tags: tuple[str, ...], by_time: bool) -> str:
    items = (["time($__interval)"] if by_time else []) + [f'"{t}"' for t in tags]
    if not items:
        return ""
    return " GROUP BY " + ", ".join(items) + (" fill(none)" if by_time else "")


def ratio(num: str, den: str, alias: str, level: str, filters: tuple[str, ...],
          tags: tuple[str, ...] = (), by_time: bool = False, measurement: str = "oee",
          extra: str = "") -> str:
    """sum(num) / sum(den) over the range (or per interval), absent when sum(den) = 0."""
    inner = (f'SELECT sum("{num}") AS "n", sum("{den}") AS "d" FROM "{measurement}" '
             f"WHERE {where(level, filters, extra)}{group(tags, by_time)}")
    outer = (" GROUP BY " + ", ".join(f'"{t}"' for t in tags)) if tags else ""
    return f'SELECT "n" / "d" AS "{alias}" FROM ({inner}) WHERE "d" > 0{outer}'


#: The OEE factors as ratios of sums (docs/design.md): alias -> (numerator, denominator).
RATIOS = {"OEE": ("ideal_good_s", "counted_planned_busy_s"),
          "availability": ("run_s", "planned_busy_s"),
          "performance": ("ideal_s", "counted_run_s"),
          "quality": ("good_count", "total_count")}
APQ = ("availability", "performance", "quality")


def ratios(names: Iterable[str], level: str, filters: tuple[str, ...],
           tags: tuple[str, ...] = (), by_time: bool = False,
           measurement: str = "oee") -> list[str]:
    """`ratio` of each named factor of `RATIOS`, aliased by its name, in order."""
    return [ratio(*RATIOS[n], n, level, filters, tags, by_time, measurement) for n in names]


def sums(cols: list[tuple[str, ...]], level: str, filters: tuple[str, ...],
         tags: tuple[str, ...] = (), by_time: bool = False, measurement: str = "oee",
         fill0: bool = False) -> str:
    """Sums of fields, each `(field, alias)` or `(field, alias, scale)` (e.g. `/3600`)."""
    sel = ", ".join(f'sum("{c[0]}"){c[2] if len(c) > 2 else ""} AS "{c[1]}"' for c in cols)
    g = group(tags, by_time)
    if fill0:
        g = g.replace("fill(none)", "fill(0)")
    return f'SELECT {sel} FROM "{measurement}" WHERE {where(level, filters)}{g}'
