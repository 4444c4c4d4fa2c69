"""Periods, InfluxQL statements and answers, the registry and the CLI's error paths."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import pytest

from lineside.cli import report as cli
from lineside.report.data import RegistryError, parse_registry, registry_settings
from lineside.report.period import (
    custom_period,
    parse_when,
    period_containing,
    previous_period,
)
from lineside.report.query import (
    QueryError,
    automation_query,
    oee_query,
    parse_answer,
)
from tests.fixtures.common import free_port

U = dt.UTC

# (kind, day, tz, start UTC, end UTC, label, previous label)
PERIODS = [
    ("day", dt.date(2026, 11, 28), "UTC", dt.datetime(2026, 11, 28, tzinfo=U),
     dt.datetime(2026, 11, 29, tzinfo=U), "2026-11-28", "2026-11-27"),
    ("day", dt.date(2026, 11, 28), "Asia/Shanghai", dt.datetime(2026, 11, 27, 16, tzinfo=U),
     dt.datetime(2026, 11, 28, 16, tzinfo=U), "2026-11-28", "2026-11-27"),
    ("week", dt.date(2026, 11, 29), "UTC", dt.datetime(2026, 11, 23, tzinfo=U),  # a Sunday
     dt.datetime(2026, 11, 30, tzinfo=U), "2026-W48", "2026-W47"),
    ("week", dt.date(2026, 1, 1), "UTC", dt.datetime(2025, 12, 29, tzinfo=U),
     dt.datetime(2026, 1, 5, tzinfo=U), "2026-W01", "2025-W52"),
    ("month", dt.date(2026, 3, 31), "Asia/Shanghai", dt.datetime(2026, 2, 28, 16, tzinfo=U),
     dt.datetime(2026, 3, 31, 16, tzinfo=U), "2026-03", "2026-02"),
    ("month", dt.date(2026, 1, 15), "UTC", dt.datetime(2026, 1, 1, tzinfo=U),
     dt.datetime(2026, 2, 1, tzinfo=U), "2026-01", "2025-12"),
]


@pytest.mark.parametrize(("kind", "day", "tz", "start", "end", "label", "prev"), PERIODS)
def test_periods(kind, day, tz, start, end, label, prev):
    p = period_containing(kind, day, tz)
    assert (p.start, p.end, p.label) == (start, end, label)
    q = previous_period(p)
    assert q.end == p.start and q.label == prev


def test_custom_period_and_its_previous():
    p = custom_period(parse_when("2026-11-24T11:30"), parse_when("2026-11-24T12:30"),
                      "Asia/Shanghai")
    assert p.start == dt.datetime(2026, 11, 24, 3, 30, tzinfo=U)
    prev = previous_period(p)
    assert prev.end == p.start and prev.end - prev.start == dt.timedelta(hours=1)
    assert custom_period(parse_when("2026-11-24T00:00:00Z"), parse_when("2026-11-25"),
                         "Asia/Shanghai").start == dt.datetime(2026, 11, 24, tzinfo=U)
    with pytest.raises(ValueError, match="before it starts"):
        custom_period(parse_when("2026-11-25"), parse_when("2026-11-24"))
    with pytest.raises(ValueError, match="not a date"):
        parse_when("yesterday")


def test_statements_sum_over_the_period():
    p = period_containing("day", dt.date(2026, 11, 28), "Asia/Shanghai")
    a, o = automation_query(p), oee_query(p)
    tf = "time >= '2026-11-27T16:00:00Z' AND time < '2026-11-28T16:00:00Z'"
    assert tf in a and tf in o
    assert 'sum("auto_ideal_units")' in a and 'sum("run_ideal_units")' in a
    assert "mean(" not in a and "mean(" not in o  # ratios come from sums only
    # only the levels no two agents of a plant share: stages and lines
    assert '"level" = \'stage\'' in a and 'GROUP BY "enterprise", "region", "site", ' \
        '"line", "stage", "stage_kind"' in a
    assert '"level" = \'line\'' in o and "site'" not in o


def test_parse_answer():
    ans = {"results": [{"statement_id": 0, "series": [
        {"name": "automation", "tags": {"enterprise": "E1", "line": "", "region": "1"},
         "columns": ["time", "run_s", "auto_run_s"], "values": [[0, 120, None]]}]}]}
    (row,) = parse_answer("automation", ans)
    assert row.tags == {"enterprise": "E1", "region": "1"}  # empty tag = absent
    assert row.values == {"run_s": 120.0, "auto_run_s": None}
    assert parse_answer("oee", {"results": [{"statement_id": 0}]}) == []
    with pytest.raises(QueryError, match="database not found"):
        parse_answer("oee", {"results": [{"error": "database not found: x"}]})
    with pytest.raises(QueryError, match="authorization failed"):
        parse_answer("oee", {"error": "authorization failed"})


REGISTRY_ERRORS = [
    ("csv", "id,name,region\nE1,,510114\n", "missing name"),
    ("csv", "id,name,region\nE1,a,1\nE1,b,2\n", "listed twice"),
    ("yaml", "- {id: E1, name: a}\n", "missing region"),
    ("yaml", "enterprises: 3\n", "expected a list"),
    ("yaml", "- just-a-string\n", "expected a mapping"),
    ("toml", "", "unknown format"),
]


@pytest.mark.parametrize(("fmt", "text", "msg"), REGISTRY_ERRORS)
def test_registry_errors(fmt, text, msg):
    with pytest.raises(RegistryError, match=msg):
        parse_registry(text, fmt)


def test_registry_csv_and_yaml_agree():
    a = parse_registry("id,name,region\ncd-beef-01,成都川味卤牛肉有限公司,510116\n", "csv")
    b = parse_registry("enterprises:\n  - {id: cd-beef-01, name: 成都川味卤牛肉有限公司, "
                       "region: '510116'}\n", "yaml")
    assert a == b and a[0].region == "510116"


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return p.parse_args(list(argv))


REG = str(Path(__file__).resolve().parents[2] / "config" / "bureau-examples" / "registry.yaml")


def test_cli_exit_codes(tmp_path: Path, capsys):
    dead = f"http://127.0.0.1:{free_port()}"
    assert cli.run(_args("--registry", REG, "--url", dead, "--timeout", "2")) == 1
    assert "127.0.0.1" in capsys.readouterr().err
    # a missing registry is no verdict on one: 66 (EX_NOINPUT), docs/design.md
    assert cli.run(_args("--registry", str(tmp_path / "none.yaml"))) == 66
    assert cli.run(_args("--registry", REG, "--from", "2026-11-01")) == 2
    assert "needs both --from and --to" in capsys.readouterr().err
    assert cli.run(_args("--registry", REG, "--tz", "Mars/Olympus")) == 2
    assert cli.run(_args("--registry", REG, "--target", "60")) == 2
    assert cli.run(_args("--registry", REG, "--token-env", "LINESIDE_NO_SUCH_VAR_X")) == 2


def test_cli_against_a_server_without_data(influxdb1, tmp_path: Path, capsys):
    """An empty database: every registered enterprise is missing, nothing is 0%."""
    influxdb1.create_db("bureau_empty")
    out = tmp_path / "r.json"
    rc = cli.run(_args("--registry", REG, "--url", influxdb1.url, "--db", "bureau_empty",
                       "--period", "week", "--date", "2026-11-25", "--tz", "Asia/Shanghai",
                       "--json", str(out)))
    assert rc == 0
    table = capsys.readouterr().out
    assert "成都川味卤牛肉有限公司" in table or "cd-beef-01" in table
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert [e["status"] for e in rep["enterprises"]] == ["missing"] * 3
    assert rep["district"]["mean_rate"] is None and rep["period"]["label"] == "2026-W48"


def test_registry_settings():
    text = "timezone: Asia/Shanghai\nlocale: en\nenterprises: []\n"
    got = registry_settings(text, "yaml")
    assert (got.timezone, got.locale) == ("Asia/Shanghai", "en")
    assert registry_settings("id,name,region\n", "csv").timezone is None
    with pytest.raises(RegistryError, match="unknown IANA timezone 'Mars/Olympus'"):
        registry_settings("timezone: Mars/Olympus\n", "yaml")
    with pytest.raises(RegistryError, match="unknown locale 'fr'"):
        registry_settings("locale: fr\n", "yaml")


def test_cli_draws_the_period_in_the_registrys_zone_and_language(influxdb1, tmp_path: Path,
                                                                  capsys):
    """No --tz: the registry's Asia/Shanghai day (16:00 UTC the day before); no --locale:
    the registry's; the command line overrides both."""
    influxdb1.create_db("bureau_empty")
    reg = tmp_path / "reg.yaml"
    reg.write_text("timezone: Asia/Shanghai\nlocale: en\nenterprises:\n"
                   "  - {id: cd-beef-01, name: 成都川味卤牛肉有限公司, region: '510116'}\n",
                   encoding="utf-8")
    out = tmp_path / "r.json"
    base = ("--url", influxdb1.url, "--db", "bureau_empty", "--date", "2026-11-25",
            "--json", str(out))
    assert cli.run(_args("--registry", str(reg), *base)) == 0
    assert json.loads(out.read_text("utf-8"))["period"]["start"] == "2026-11-24T16:00:00+00:00"
    table = capsys.readouterr().out
    assert "District food enterprises" in table and "Asia/Shanghai (UTC+08:00)" in table
    assert cli.run(_args("--registry", str(reg), *base, "--tz", "UTC", "--locale",
                         "zh-CN")) == 0
    assert json.loads(out.read_text("utf-8"))["period"]["start"] == "2026-11-25T00:00:00+00:00"
    assert "区县食品企业自动化水平报告" in capsys.readouterr().out
