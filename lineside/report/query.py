"""InfluxQL for the bureau report, and the thin HTTP layer that runs it.

The statements and the parsing of answers are pure (tested without a server); `fetch`
is the only function that touches the network. Everything goes through the v1
`/query` API, which InfluxDB 1.x, 2.x (with a DBRP mapping) and 3.x all answer.
Each statement sums fields over the whole period per stage (automation) or per line
(oee), the levels no two agents share, so the report rebuilds every figure from sums
(docs/design.md) and reads no site- or enterprise-level point.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from lineside.report.data import CCP_SUMS, SAFETY_LEVELS, Period, Row

#: Summed per stage: the sums docs/design.md rebuilds every automation figure from.
AUTOMATION_SUMS = ("auto_ideal_units", "run_ideal_units", "auto_run_s", "run_s",
                   "line_planned_busy_s")
AUTOMATION_MEANS = ("digitized",)
AUTOMATION_GROUP = ("enterprise", "region", "site", "line", "stage", "stage_kind")
#: Summed per line (line-level oee points: each line's output stage).
OEE_SUMS = ("planned_busy_s", "counted_planned_busy_s", "ideal_good_s", "good_count",
            "total_count", "run_s")
OEE_GROUP = ("enterprise", "region", "site", "line")


def _ts(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _q(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def time_filter(p: Period) -> str:
    return f"time >= '{_ts(p.start)}' AND time < '{_ts(p.end)}'"


def automation_query(p: Period) -> str:
    cols = [f"sum({_q(f)}) AS {_q(f)}" for f in AUTOMATION_SUMS]
    for f in AUTOMATION_MEANS:
        cols += [f"sum({_q(f)}) AS {_q(f + '_sum')}", f"count({_q(f)}) AS {_q(f + '_n')}"]
    # a configuration constant: the weight in force (the largest if it changed)
    cols.append(f"max({_q('weight')}) AS {_q('weight')}")
    return (f"SELECT {', '.join(cols)} FROM \"automation\" WHERE \"level\" = 'stage' AND "
            f"{time_filter(p)} GROUP BY {', '.join(_q(t) for t in AUTOMATION_GROUP)}")


def oee_query(p: Period) -> str:
    cols = [f"sum({_q(f)}) AS {_q(f)}" for f in OEE_SUMS]
    return (f"SELECT {', '.join(cols)} FROM \"oee\" WHERE \"level\" = 'line' AND "
            f"{time_filter(p)} GROUP BY {', '.join(_q(t) for t in OEE_GROUP)}")


def ccp_query(p: Period) -> str:
    """CCP deviation counts and minutes per enterprise and CCP kind (docs/haccp.md)."""
    cols = [f"sum({_q(f)}) AS {_q(f)}" for f in CCP_SUMS]
    return (f"SELECT {', '.join(cols)} FROM \"ccp_bureau\" WHERE \"level\" = 'ccp_kind' "
            f"AND {time_filter(p)} GROUP BY \"enterprise\", \"region\", \"ccp_kind\"")


def safety_query(p: Period) -> str:
    """The safety supervision levels per enterprise and CCP kind (`haccp_bureau`, docs/
    haccp.md): levels, not sums, so the latest point of each site and gateway in the
    period (the report adds the sites)."""
    cols = [f"last({_q(f)}) AS {_q(f)}" for f in SAFETY_LEVELS]
    return (f"SELECT {', '.join(cols)} FROM \"haccp_bureau\" WHERE \"level\" = 'ccp_kind' "
            f"AND {time_filter(p)} GROUP BY \"enterprise\", \"region\", \"site\", "
            f"\"gateway\", \"ccp_kind\"")


class QueryError(RuntimeError):
    pass


def parse_answer(measurement: str, answer: dict) -> list[Row]:
    """Rows from a /query JSON answer of one statement (errors raise QueryError)."""
    if "error" in answer:
        raise QueryError(str(answer["error"]))
    rows: list[Row] = []
    for res in answer.get("results", []):
        if "error" in res:
            raise QueryError(str(res["error"]))
        for s in res.get("series", []) or []:
            cols = s.get("columns", [])
            tags = {k: v for k, v in (s.get("tags") or {}).items() if v}
            for vals in s.get("values", []) or []:
                values = {c: (float(v) if isinstance(v, int | float) and not isinstance(
                    v, bool) else None)
                          for c, v in zip(cols, vals, strict=False) if c != "time"}
                rows.append(Row(s.get("name", measurement), tags, values))
    return rows


@dataclass(frozen=True)
class Source:
    """Where the bureau's data lives (InfluxQL over /query)."""

    url: str  # e.g. http://127.0.0.1:8086
    db: str
    user: str | None = None
    password: str | None = None
    token: str | None = None  # InfluxDB 2.x/3.x token (Authorization: Token ...)
    rp: str | None = None
    timeout_s: float = 30.0

    def describe(self) -> str:
        return f"{self.url.rstrip('/')}/query db={self.db}"


def fetch(src: Source, statement: str, epoch: str = "s") -> dict:
    """Run one InfluxQL statement; the decoded JSON answer (HTTP errors raise)."""
    params = {"db": src.db, "q": statement, "epoch": epoch}
    if src.rp:
        params["rp"] = src.rp
    data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(src.url.rstrip("/") + "/query", data=data, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    req.add_header("Accept", "application/json")
    if src.token:
        req.add_header("Authorization", f"Token {src.token}")
    elif src.user:
        cred = base64.b64encode(f"{src.user}:{src.password or ''}".encode()).decode()
        req.add_header("Authorization", f"Basic {cred}")
    try:
        with urllib.request.urlopen(req, timeout=src.timeout_s) as resp:
            return json.loads(resp.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")[:500]
        hint = " (check the user/password or token: it needs READ on the database)" \
            if e.code in (401, 403) else ""
        raise QueryError(f"{src.describe()}: HTTP {e.code}{hint}: {body}") from None
    except (urllib.error.URLError, OSError) as e:
        raise QueryError(f"{src.describe()}: {e}") from None


def load_rows(src: Source, period: Period) -> list[Row]:
    """All rows the report needs for one period (four statements)."""
    return (parse_answer("automation", fetch(src, automation_query(period)))
            + parse_answer("oee", fetch(src, oee_query(period)))
            + parse_answer("ccp_bureau", fetch(src, ccp_query(period)))
            + parse_answer("haccp_bureau", fetch(src, safety_query(period))))
