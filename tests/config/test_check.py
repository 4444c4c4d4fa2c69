"""`lineside check`: one case per mistake, each with the key path, line and message.

Each case edits a small valid file; the expected line is counted in the edited text, so a
case reads as: "write this, get an error here saying that".
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lineside.config.errors import ConfigError
from lineside.config.loader import parse_config
from lineside.redact import mask_keys

VALID = textwrap.dedent("""\
    site:
      enterprise_id: sc-beef-01
      enterprise_name: Sichuan Braised Beef Co.
      site_id: chengdu-1
      region: "510114"
      timezone: Asia/Shanghai
    calendar:
      shifts:
        - name: day
          start: "08:00"
          end: "17:00"
          breaks:
            - {start: "12:00", end: "12:30"}
    devices:
      - id: plc-cut
        type: modbus-tcp
        host: 127.0.0.1
        port: 5020
      - id: plc-pack
        type: opcua
        endpoint: opc.tcp://127.0.0.1:4840
    lines:
      - id: beef
        output_stage: cutting  # where the units are counted: the line's OEE
        stages:
          - id: cutting
            kind: cutting
            machines:
              - id: dicer-1
                automation: automatic
                ideal_rate: 60
                source: plc-cut
                state: {map: packml}
                signals:
                  state: {address: 0, type: uint16}
                  good: {address: 2, type: uint32}
          - id: packing
            kind: packaging
            machines:
              - id: packer-1
                automation: automatic
                ideal_cycle_s: 0.5
                source: plc-pack
                signals:
                  running: {node: "ns=2;s=Packer1.Running"}
    sinks:
      - id: plant
        type: influxdb-v2
        url: http://127.0.0.1:8086
        bucket: lineside
        token_env: INFLUX_TOKEN
""")


def test_valid_file_is_accepted() -> None:
    cfg = parse_config(VALID, "ok.yaml")
    assert [m.id for ln in cfg.lines for s in ln.stages for m in s.machines] == [
        "dicer-1", "packer-1"]


# (case, old text, new text, expected path, text on the expected line, words in the message)
CASES = [
    ("unknown device in a machine's source",
     "source: plc-cut", "source: plc-cutter",
     "lines[0].stages[0].machines[0].source", "source: plc-cutter", "unknown device 'plc-cutter'"),
    ("Modbus address out of range",
     "good: {address: 2, type: uint32}", "good: {address: 65535, type: uint32}",
     "lines[0].stages[0].machines[0].signals.good", "good:", "65535"),
    ("two signals overlapping registers with different types",
     "good: {address: 2, type: uint32}", "good: {address: 0, type: float32}",
     "lines[0].stages[0].machines[0].signals.good", "good:", "overlap"),
    ("shift ending before it starts without overnight",
     'end: "17:00"', 'end: "06:00"',
     "calendar.shifts[0]", "- name: day", "overnight"),
    ("misspelt key",
     "host: 127.0.0.1", "hots: 127.0.0.1",
     "devices[0].hots", "hots:", "unknown key"),
    ("unknown stage kind",
     "kind: cutting", "kind: slicing",
     "lines[0].stages[0].kind", "kind: slicing", "expected 'cleaning'"),
    ("unknown device type",
     "type: modbus-tcp", "type: modbus-udp",
     "devices[0].type", "modbus-udp", "modbus-udp"),
    ("missing ideal rate",
     "\n            ideal_rate: 60", "",
     "lines[0].stages[0].machines[0]", "- id: dicer-1", "ideal_rate"),
    ("OPC UA node on a Modbus device",
     "good: {address: 2, type: uint32}", 'good: {node: "ns=2;s=Dicer.Good"}',
     "lines[0].stages[0].machines[0].signals.good", "good:", "is Modbus"),
    ("break outside its shift",
     '{start: "12:00", end: "12:30"}', '{start: "18:00", end: "18:30"}',
     "calendar.shifts[0].breaks[0]", "18:00", "not inside the shift"),
    ("duplicate machine id",
     "id: packer-1", "id: dicer-1",
     "lines[0].stages[1].machines[0].id", "id: dicer-1", "more than once"),
    ("unknown timezone",
     "timezone: Asia/Shanghai", "timezone: China/Chengdu",
     "site.timezone", "timezone:", "unknown IANA timezone"),
    ("state map without a state signal",
     "state: {address: 0, type: uint16}", "code: {address: 0, type: uint16}",
     "lines[0].stages[0].machines[0].signals", "signals:\n              code",
     "needs a `state` signal"),
    ("secret written inline",
     "token_env: INFLUX_TOKEN", "token: abc123",
     "sinks[0].token", "token: abc", "give `token_env`"),
    ("credentials in a sink URL (never sent: a 401 at the first write)",
     "url: http://127.0.0.1:8086", 'url: "http://admin:hunter2@127.0.0.1:8086"',
     "sinks[0].url", "url: \"http://admin", "give `token_env` or `token_file`"),
    ("a stage done by hand that has machines",
     "kind: packaging\n", "kind: packaging\n        manual: true\n",
     "lines[0].stages[1]", "- id: packing", "remove `manual: true`, or the machines"),
    ("OPC UA password written inline",
     "endpoint: opc.tcp://127.0.0.1:4840", "endpoint: opc.tcp://127.0.0.1:4840\n"
     "    username: op\n    password: hunter2",
     "devices[1].password", "password: hunter2", "or `password_file`"),
    ("poll interval beyond a day (1e300 crashed run)",
     "port: 5020", "port: 5020\n    interval_s: 1e300",
     "devices[0].interval_s", "interval_s: 1e300", "less than or equal to 86400"),
    ("infinite timeout",
     "port: 5020", "port: 5020\n    timeout_s: .inf",
     "devices[0].timeout_s", "timeout_s: .inf", "finite number"),
    ("NaN ideal rate",
     "ideal_rate: 60", "ideal_rate: .nan",
     "lines[0].stages[0].machines[0].ideal_rate", "ideal_rate: .nan", "finite number"),
    ("IPv6 listen address without brackets",
     "sinks:\n  - id: plant", 'http:\n  listen: "::1:9108"\nsinks:\n  - id: plant',
     "http.listen", 'listen: "::1:9108"', "in brackets, e.g. [::1]:9108"),
    ("bad YAML",
     "timezone: Asia/Shanghai", "timezone: Asia/Shanghai: x",
     "", "timezone:", "invalid YAML"),
    # crashes of check and run found by hand and by the fuzz test (issue 23)
    ("planned downtime lines not a list (a traceback before)",
     "calendar:\n", "calendar:\n  planned_downtime:\n"
     "    - {start: '22:00', end: '23:00', lines: 5}\n",
     "calendar.planned_downtime[0].lines", "lines: 5", "valid list (got 5)"),
    ("a 300-character timezone (OSError: file name too long before)",
     "timezone: Asia/Shanghai", "timezone: " + "A" * 300,
     "site.timezone", "timezone: AAA", "(300 characters)"),
    ("a clock time with an offset (naive and aware times compared before)",
     'end: "17:00"', 'end: "17:00Z"',
     "calendar.shifts[0].end", 'end: "17:00Z"', "has no offset"),
    ("a one-off downtime with one offset (naive and aware compared before)",
     "calendar:\n", "calendar:\n  planned_downtime:\n    - {start: 2026-05-01T08:00:00, "
     "end: 2026-05-01T09:00:00+08:00}\n",
     "calendar.planned_downtime[0]", "- {start: 2026", "both have an offset"),
    ("nesting deeper than the parser goes",
     "port: 5020", "port: " + "[" * 5000 + "]" * 5000,
     "", "port: [[", "invalid YAML"),
]


def line_of(text: str, needle: str) -> int:
    """1-based line of the last occurrence (the edited one follows the valid original)."""
    assert needle in text, needle
    return text[: text.rindex(needle)].count("\n") + 1


@pytest.mark.parametrize(("case", "old", "new", "path", "at", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_mistake_is_named(case: str, old: str, new: str, path: str, at: str,
                               words: str) -> None:
    assert_mistake_named(VALID, case, old, new, path, at, words)


def assert_mistake_named(base: str, case: str, old: str, new: str, path: str, at: str,
                         words: str) -> None:
    """`base` with `old` edited into `new` is refused at `path`, on the line of `at`,
    with `words` in the message."""
    assert old in base, case
    text = base.replace(old, new, 1)
    line = line_of(text, at)
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "bad.yaml")
    found = [i for i in exc.value.issues if i.path == path]
    assert found, f"no error at {path}; got: {exc.value.render()}"
    assert any(i.line == line for i in found), exc.value.render()
    assert any(words in i.message for i in found), exc.value.render()


def test_all_errors_in_one_run() -> None:
    text = (VALID.replace("source: plc-cut", "source: nope")
            .replace("host: 127.0.0.1", "hots: 127.0.0.1")
            .replace('end: "17:00"', 'end: "06:00"'))
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "bad.yaml")
    assert {i.path for i in exc.value.issues} >= {
        "lines[0].stages[0].machines[0].source", "devices[0].hots", "calendar.shifts[0]"}


def test_cli_exit_codes_and_masking(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(VALID)
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("kind: cutting", "kind: slicing"))
    cmd = [sys.executable, "-m", "lineside.cli", "check"]
    env = {**os.environ, "INFLUX_TOKEN": "t"}  # the sink's token_env: check looks for it
    ok = subprocess.run([*cmd, str(good), "--print"], capture_output=True, text=True,
                        timeout=60, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "token_env: INFLUX_TOKEN" in ok.stdout
    ko = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, timeout=60)
    assert ko.returncode == 2
    assert f"bad.yaml:{line_of(bad.read_text(), 'kind: slicing')}:" in ko.stderr
    assert "lines[0].stages[0].kind" in ko.stderr


def test_mask_hides_secret_values_but_not_references() -> None:
    masked = mask_keys({"password": "hunter2", "password_env": "PW", "token_file": "/t",
                   "nested": [{"token": "x"}]})
    assert masked == {"password": "***", "password_env": "PW", "token_file": "/t",
                      "nested": [{"token": "***"}]}


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    from lineside.config.loader import load_config

    f = tmp_path / "sub" / "c.yaml"
    f.parent.mkdir()
    f.write_text(VALID + "state_dir: ./state\n")
    assert load_config(f).state_dir == (tmp_path / "sub" / "state").resolve()


def test_yaml_merge_keys_work_and_duplicates_are_errors() -> None:
    # the second device repeats the first one's settings through a merge key
    merged = VALID.replace("  - id: plc-cut\n    type: modbus-tcp\n",
                           "  - &plc\n    id: plc-cut\n    type: modbus-tcp\n"
                           "    interval_s: 2\n", 1).replace(
        "  - id: plc-pack\n", "  - <<: *plc\n    id: plc-cut-2\n    port: 5021\n"
        "  - id: plc-pack\n", 1)
    cfg = parse_config(merged, "merge.yaml")
    copy = next(d for d in cfg.devices if d.id == "plc-cut-2")
    assert (copy.type, copy.interval_s, copy.port) == ("modbus-tcp", 2, 5021)
    dup = VALID.replace("    port: 5020\n", "    port: 5020\n    port: 5021\n", 1)
    with pytest.raises(ConfigError) as exc:
        parse_config(dup, "dup.yaml")
    assert "duplicate key 'port'" in exc.value.render()


# Valid but probably not meant: warnings, with the same path / line / words shape.
WARNINGS = [
    ("counters.bits contradicting a declared type",
     "ideal_rate: 60\n", "ideal_rate: 60\n            counters: {bits: 16}\n",
     "lines[0].stages[0].machines[0].counters.bits", "counters: {bits: 16}",
     "declared uint32 (32 bits)"),
    ("auto_mode on mechanized equipment",
     "automation: automatic\n            ideal_rate: 60",
     "automation: mechanized\n            ideal_rate: 60",
     "lines[0].stages[0].machines[0].signals.auto_mode", "auto_mode:",
     "never runs in auto"),
    ("a counter declared with a float type",
     "good: {address: 2, type: uint32}", "good: {address: 2, type: float32}",
     "lines[0].stages[0].machines[0].signals.good", "good:", "not an integer type"),
    ("a reject counter alone",
     "good: {address: 2, type: uint32}", "reject: {address: 2, type: uint32}",
     "lines[0].stages[0].machines[0].signals.reject", "reject:", "stay absent"),
]


@pytest.mark.parametrize(("case", "old", "new", "path", "at", "words"), WARNINGS,
                         ids=[c[0] for c in WARNINGS])
def test_each_warning_is_named(case: str, old: str, new: str, path: str, at: str,
                               words: str) -> None:
    base = VALID.replace("good: {address: 2, type: uint32}",
                         "good: {address: 2, type: uint32}\n"
                         "              auto_mode: {address: 4, type: uint16}")
    assert old in base, case
    text = base.replace(old, new, 1)
    clean: list = []
    parse_config(base, "ok.yaml", warnings=clean)
    assert clean == []
    warnings: list = []
    parse_config(text, "w.yaml", warnings=warnings)
    found = [w for w in warnings if w.path == path]
    assert found, f"no warning at {path}; got {warnings}"
    assert any(w.line == line_of(text, at) for w in found), found
    assert any(words in w.message for w in found), found


def test_cli_prints_warnings_and_exits_0(tmp_path: Path) -> None:
    f = tmp_path / "w.yaml"
    f.write_text(VALID.replace("ideal_rate: 60\n", "ideal_rate: 60\n"
                               "            counters: {bits: 16}\n"))
    r = subprocess.run([sys.executable, "-m", "lineside.cli", "check", "--locale", "en", str(f)],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "INFLUX_TOKEN": "t"})
    assert r.returncode == 0, r.stderr
    assert "warning: lines[0].stages[0].machines[0].counters.bits" in r.stderr


def test_recurring_downtime_across_midnight_is_valid_and_zero_length_is_not() -> None:
    cal = ("calendar:\n  planned_downtime:\n    - {start: \"%s\", end: \"%s\"}\n")
    for start, end in (("22:00", "02:00"), ("20:00", "00:00")):
        cfg = parse_config(VALID.replace("calendar:\n", cal % (start, end), 1), "ok.yaml")
        w = cfg.calendar.planned_downtime[0]
        assert (w.start.isoformat(timespec="minutes"), w.end.isoformat(timespec="minutes")) \
            == (start, end)
    text = VALID.replace("calendar:\n", cal % ("22:00", "22:00"), 1)
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "bad.yaml")
    (issue,) = exc.value.issues
    assert issue.path == "calendar.planned_downtime[0]"
    assert issue.line == line_of(text, "- {start: \"22:00\"")
    assert "no length" in issue.message
