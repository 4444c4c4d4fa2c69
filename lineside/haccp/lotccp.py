"""What ran during a lot besides its counts (`lineside lot LOT`, docs/lots.md): each
CCP's monitoring summary on the lot's machines over its span, and the product the
machine made (its ideal rate). Pure: statements and assembly; the command reads them.

Both come from the engine's bucket points (`ccp`, `oee` at level machine): a summary
covers the buckets that overlap the lot's run on the machine (whole buckets, as
`lineside haccp --day` sums them), each bucket once even when the lot ran twice in it.
The product is not on any point: the machine's OEE buckets carry its ideal time per
unit counted (`ideal_s` / `total_count`), so the rate in force is 60 · total / ideal,
and the configured `products` entry with that rate is the product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lineside.haccp.chain import Record
from lineside.haccp.record import _s

SUMS = ("monitored_s", "within_s", "excursion_s", "deviation_s", "lost_s", "value_s",
        "deviations", "losses")
HOUR_NS = 3600 * 1_000_000_000  # the longest bucket (metrics.bucket_s <= 3600)


@dataclass
class CcpDuring:
    """A CCP's monitoring summary over a lot's run(s) on its machine."""

    ccp: str
    ccp_name: str
    kind: str
    machine: str
    unit: str
    from_ns: int  # the first bucket's start
    to_ns: int  # the last bucket's end
    monitored_s: float
    out_of_limits_s: float  # beyond a critical limit: short excursions and deviations
    deviation_s: float
    lost_s: float
    deviations: int
    losses: int
    min: float | None
    max: float | None
    mean: float | None


def queries(runs: list[Any], now_ns: int, site: str | None = None) -> list[str]:
    """Per run: the `ccp` and machine `oee` buckets that may overlap it (from an hour
    before its start: `keep` cuts them to the bucket length)."""
    out = []
    for r in runs:
        end = r.end_ns if r.end_ns is not None else now_ns
        w = (f'"machine" = {_s(r.machine)} AND time > {r.start_ns - HOUR_NS} AND '
             f"time < {end}" + (f' AND "site" = {_s(site)}' if site else ""))
        out += [f'SELECT * FROM "ccp" WHERE {w} GROUP BY *',
                f'SELECT "ideal_s", "total_count" FROM "oee" WHERE {w} AND '
                f"\"level\" = 'machine' GROUP BY *"]
    return out


def keep(rows: list[Record], runs: list[Any], bucket_ns: int, now_ns: int) -> list[Record]:
    """The buckets that overlap a run on their machine, each once."""
    seen: dict[tuple[str, str, str, int], Record] = {}
    for r in rows:
        m = r.tags.get("machine", "")
        for run in runs:
            end = run.end_ns if run.end_ns is not None else now_ns
            if run.machine == m and r.ts_ns + bucket_ns > run.start_ns and r.ts_ns < end:
                seen[(r.measurement, m, r.tags.get("ccp", ""), r.ts_ns)] = r
    return sorted(seen.values(), key=lambda r: r.ts_ns)


def summaries(buckets: list[Record], bucket_ns: int, config: Any = None) -> list[CcpDuring]:
    cfg = {c.id: c for c in getattr(config, "ccps", [])}
    by: dict[str, list[Record]] = {}
    for r in buckets:
        if r.measurement == "ccp":
            by.setdefault(r.tags.get("ccp", ""), []).append(r)
    out = []
    for cid, rs in sorted(by.items()):
        s = {k: sum(float(r.fields.get(k) or 0) for r in rs) for k in SUMS}
        lows = [float(r.fields["min"]) for r in rs if r.fields.get("min") is not None]
        highs = [float(r.fields["max"]) for r in rs if r.fields.get("max") is not None]
        c, t = cfg.get(cid), rs[0].tags
        out.append(CcpDuring(
            cid, (c.name if c else "") or t.get("ccp_name", cid), t.get("ccp_kind", ""),
            t.get("machine", ""), c.unit if c else "", rs[0].ts_ns, rs[-1].ts_ns + bucket_ns,
            s["monitored_s"], s["excursion_s"] + s["deviation_s"], s["deviation_s"],
            s["lost_s"], int(s["deviations"]), int(s["losses"]), min(lows, default=None),
            max(highs, default=None),
            s["value_s"] / s["monitored_s"] if s["monitored_s"] else None))
    return out


def product(buckets: list[Record], machine: str, config: Any = None
            ) -> tuple[list[int], list[float]]:
    """The product codes the machine made and their ideal rates (units per minute): the
    rates its OEE buckets show, matched to its configured `products`; a machine without
    a product table has its one configured rate; nothing counted, nothing known beyond
    that."""
    m = next((x for ln in getattr(config, "lines", []) for st in ln.stages
              for x in st.machines if x.id == machine), None)
    rates: list[float] = []
    for r in buckets:
        total, ideal = r.fields.get("total_count") or 0, r.fields.get("ideal_s") or 0
        if (r.measurement == "oee" and r.tags.get("machine") == machine and total > 0
                and ideal > 0):
            x = 60.0 * float(total) / float(ideal)
            if not any(math.isclose(x, y, rel_tol=1e-6) for y in rates):
                rates.append(x)
    if m is None:
        return [], sorted(round(x, 6) for x in rates)
    if m.ideal_rate is None and m.ideal_cycle_s is None:  # monitoring-only equipment
        return [], []
    default = 60.0 / m.ideal_cycle
    if not m.products:
        return [], [default]
    codes = sorted(code for code, rate in m.products.items()
                   if any(math.isclose(rate, x, rel_tol=1e-6) for x in rates))
    # a bucket across a product change blends two rates: only configured ones count
    known = [float(m.products[c]) for c in codes]
    if any(math.isclose(default, x, rel_tol=1e-6) for x in rates) and not any(
            math.isclose(default, k, rel_tol=1e-6) for k in known):
        known.append(default)
    return codes, known
