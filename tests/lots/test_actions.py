"""Corrective actions, dispositions and verifications (issue 27, docs/haccp.md): entries
are input samples the engine turns into chained `ccp_action` records; who may enter what
is the engine's rule, so a replay refuses and accepts exactly what the agent did; an
entry altered in InfluxDB makes `haccp verify` exit 1 naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lineside.config.ccp import CorrectiveAction
from lineside.config.loader import load_config
from lineside.engine.actions import EVENT_SIGNAL, deviation_id, entry_event
from lineside.engine.core import Engine
from lineside.engine.replay import replay
from lineside.haccp.chain import link_all
from lineside.samplelog import read_samples
from lineside.samples import Quality, Sample
from tests.haccp.test_influx import write

CASE = Path(__file__).resolve().parents[1] / "cases" / "deviation-spanning-a-lot-change"
DEV = deviation_id("s1", "hold", "limit", 1796019300_000_000_000)  # 06:15, lots 1201, 1202
LATER = 1796022000.0  # 07:00, the case's last sample


def _cfg() -> Any:
    cfg = load_config(CASE / "config.yaml")
    return cfg.model_copy(update={"corrective_actions": [
        CorrectiveAction(id="reprocess", name="Re-pasteurize"),
        CorrectiveAction(id="adjust-steam")]})


def _entry(t: float, kind: str, by: str, role: str, **extra: str) -> Sample:
    return Sample(EVENT_SIGNAL, entry_event(kind, extra.pop("deviation", DEV), by, role,
                                            **extra), Quality.GOOD, t)


ENTRIES = [
    _entry(LATER + 1, "verify", "chen", "qa"),  # nothing to verify yet: refused
    _entry(LATER + 2, "action", "wang", "supervisor", action="reprocess",
           text="held the tank, re-pasteurized at 75 °C"),
    _entry(LATER + 3, "action", "wang", "supervisor", action="boil"),  # not configured
    _entry(LATER + 4, "dispose", "wang", "supervisor", lot="1201", disposition="rework"),
    _entry(LATER + 5, "dispose", "wang", "supervisor", lot="1202", disposition="release"),
    _entry(LATER + 6, "dispose", "wang", "supervisor", lot="1202", disposition="release",
           justification="re-pasteurized, lab test negative"),
    _entry(LATER + 7, "dispose", "wang", "supervisor", lot="1203", disposition="hold"),
    _entry(LATER + 8, "verify", "wang", "qa"),  # the action's author
    _entry(LATER + 9, "verify", "li", "operator"),  # no QA role
    _entry(LATER + 10, "action", "wang", "supervisor", action="reprocess",
           deviation=deviation_id("s2", "hold", "limit", 1796019300_000_000_000)),
    _entry(LATER + 11, "verify", "chen", "qa", text="records and lab report checked"),
    _entry(LATER + 12, "verify", "zhao", "qa"),  # already verified
]


def _run(cfg: Any) -> tuple[Engine, list[Any]]:
    samples = list(read_samples(CASE / "samples.jsonl"))
    eng = Engine(cfg, samples[0].ts)
    out = eng.feed(samples) + eng.tick(LATER)
    for s in ENTRIES:  # one at a time, as the agent takes them
        out += eng.feed([s])
    return eng, out


def test_entries_become_records_and_the_rules_refuse_the_rest() -> None:
    eng, out = _run(_cfg())
    recs = [(p.tags["entry"], p.tags.get("lot"), p.fields["by"],
             p.fields.get("action") or p.fields.get("disposition"), p.ts_ns)
            for p in out if p.measurement == "ccp_action"]
    start = 1796019300_000_000_000
    assert recs == [
        ("action", None, "wang", "reprocess", start + 1),
        ("disposition", "1201", "wang", "rework", start + 2),
        ("disposition", "1202", "wang", "release", start + 3),
        ("verification", None, "chen", None, start + 4),
    ]
    assert eng.actions is not None
    assert (eng.actions.events_applied, eng.actions.events_refused) == (4, 8)


@pytest.mark.parametrize(("i", "why"), [
    (0, "no corrective action to verify"), (2, "unknown corrective action 'boil'"),
    (4, "a release needs a justification"), (6, "not an affected lot"),
    (7, "the author of a corrective action cannot verify it"),
    (8, "needs the qa role"), (9, "a deviation of another site"),
    (11, "already verified by chen")])
def test_why_an_entry_is_refused(i: int, why: str) -> None:
    cfg = _cfg()
    samples = list(read_samples(CASE / "samples.jsonl"))
    eng = Engine(cfg, samples[0].ts)
    eng.feed(samples)
    eng.tick(LATER)
    assert eng.actions is not None
    for s in ENTRIES[:i]:
        eng.feed([s])
    assert why in (eng.actions.refusal(ENTRIES[i].value) or "")


def test_a_replay_of_the_sample_log_writes_the_same_records() -> None:
    cfg = _cfg()
    _, live = _run(cfg)
    samples = list(read_samples(CASE / "samples.jsonl")) + ENTRIES
    replayed = [p for p in replay(cfg, samples) if p.measurement == "ccp_action"]
    assert replayed == [p for p in live if p.measurement == "ccp_action"]


def test_an_action_survives_a_restart_and_its_author_still_cannot_verify() -> None:
    import json

    cfg = _cfg()
    samples = list(read_samples(CASE / "samples.jsonl"))
    eng = Engine(cfg, samples[0].ts)
    eng.feed(samples)
    eng.tick(LATER)
    eng.feed([ENTRIES[1]])
    eng2 = Engine(cfg, LATER, snapshot=json.loads(json.dumps(eng.snapshot())))
    assert eng2.actions is not None
    assert "cannot verify" in (eng2.actions.refusal(ENTRIES[7].value) or "")


def _haccp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineside.cli", "haccp", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.server
@pytest.mark.parametrize(("entry", "field", "forged"), [
    ("action", "text", "nothing held"),  # the action's free text rewritten
    ("disposition", "disposition", "release"),  # lot 1201's rework made a release
    ("verification", "by", "zhao"),  # someone else named as the verifier
])
def test_an_entry_altered_in_influxdb_makes_verify_name_it(
        influxdb1: Any, entry: str, field: str, forged: str) -> None:
    _, out = _run(_cfg())
    points, _, _ = link_all(out)
    db = f"lots_actions_{entry}"
    write(influxdb1, db, points)
    src = ["--url", influxdb1.url, "--db", db]
    ok = _haccp("verify", *src)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (rec,) = [p for p in points if p.measurement == "ccp_action"
              and p.tags["entry"] == entry and p.tags.get("lot") in (None, "1201")]
    assert rec.fields[field] != forged
    write(influxdb1, db, [type(rec)(rec.measurement, rec.tags, {**rec.fields, field: forged},
                                    rec.ts_ns)])
    bad = _haccp("verify", *src)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    said = bad.stdout + bad.stderr
    assert f"seq {rec.fields['seq']}" in said and "ccp_action" in said and "altered" in said
    assert f"entry={entry}" in said  # which of the deviation's records
    assert ("lot=1201" in said) == (entry == "disposition")


def test_the_command_needs_the_users_password_and_withdraws_what_no_agent_took(
        tmp_path: Path) -> None:
    from lineside.station.users import UserStore

    state = tmp_path / "state"
    text = (CASE / "config.yaml").read_text().replace(
        "devices:", f"state_dir: {state}\ndevices:", 1)
    cfg = tmp_path / "plant.yaml"
    cfg.write_text(text)
    UserStore(state).add("chen", "qa", "chen-password")

    def entry(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lineside.cli", "haccp", "verify-action", "--config",
             str(cfg), "--deviation", DEV, "--by", "chen", "--password-stdin", "--wait",
             "0.5"], input=password + "\n", capture_output=True, text=True, timeout=60)

    # the case's site has no locale: the answers are in zh-CN, the default
    wrong = entry("guess")
    assert wrong.returncode == 2 and "用户名或密码错误" in wrong.stderr
    alone = entry("chen-password")
    assert alone.returncode == 1 and "已撤回" in alone.stderr
    assert list((state / "haccp-inbox").glob("*.json")) == []
