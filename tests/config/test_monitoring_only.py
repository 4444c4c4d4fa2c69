"""What `lineside check` says about monitoring-only equipment (issue 27): a cold room,
chiller or freezer is a machine of a kind other than `production`, read for its CCPs
and signals only. Each row edits the valid file of test_check and names the key path,
the line and the words of the error; a production machine still needs what it needs.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from lineside.cli.main import main
from lineside.config.errors import ConfigError, ConfigIssue
from lineside.config.loader import parse_config
from lineside.config.messages import localized
from lineside.config.schema import config_schema
from tests.config.test_check import VALID, line_of

PACKER = "              running: {node: \"ns=2;s=Packer1.Running\"}\n"
ROOM = ("          - id: room-1\n"
        "            name: 成品冷库\n"
        "            kind: cold_room\n"
        "            source: plc-cut\n"
        "            signals:\n"
        "              air_temp: {address: 20, type: int16, scale: 0.1}\n")
CCP = ("ccps:\n"
       "  - id: cold-store\n"
       "    kind: cold_storage\n"
       "    hazard: Listeria growth above 4 °C\n"
       "    machine: room-1\n"
       "    signal: air_temp\n"
       "    critical: {max: 4.0}\n"
       "    monitoring_interval_s: 60\n")
WITH_ROOM = VALID.replace(PACKER, PACKER + ROOM).replace("sinks:\n", CCP + "sinks:\n")
M = "lines[0].stages[1].machines[1]"  # the cold room's path

# (case, [(old, new), ...], path, text on its line, words in the message)
ROWS = [
    ("an ideal rate", [("            kind: cold_room\n",
                        "            kind: cold_room\n            ideal_rate: 60\n")],
     f"{M}.ideal_rate", "ideal_rate: 60", "(kind cold_room) has no `ideal_rate`"),
    ("an ideal cycle", [("            kind: cold_room\n",
                         "            kind: cold_room\n            ideal_cycle_s: 2\n")],
     f"{M}.ideal_cycle_s", "ideal_cycle_s: 2", "has no `ideal_cycle_s`"),
    ("a state map", [("            kind: cold_room\n",
                      "            kind: cold_room\n            state: {map: packml}\n")],
     f"{M}.state", "state: {map: packml}", "has no `state`:"),
    ("counter settings", [("            kind: cold_room\n",
                           "            kind: cold_room\n            counters: {bits: 16}\n")],
     f"{M}.counters", "counters: {bits: 16}", "has no `counters`"),
    ("a counter signal", [("air_temp: {address: 20, type: int16, scale: 0.1}\n",
                           "air_temp: {address: 20, type: int16, scale: 0.1}\n"
                           "              good: {address: 22, type: uint32}\n")],
     f"{M}.signals.good", "good: {address: 22", "has no `good` signal"),
    ("a running signal", [("air_temp: {address: 20, type: int16, scale: 0.1}\n",
                           "air_temp: {address: 20, type: int16, scale: 0.1}\n"
                           "              running: {address: 24, type: bool}\n")],
     f"{M}.signals.running", "running: {address: 24", "has no `running` signal"),
    ("an automation", [("            kind: cold_room\n",
                        "            kind: cold_room\n            automation: automatic\n")],
     f"{M}.automation", "automation: automatic", "has no `automation`"),
    ("a CCP that applies while producing",
     [("    monitoring_interval_s: 60\n",
       "    monitoring_interval_s: 60\n    applies: producing\n")],
     "ccps[0].applies", "applies: producing", "it has no state, so it is never producing"),
    ("a stage of monitoring-only units",
     [("      - id: packing\n        kind: packaging\n        machines:\n",
       "      - id: cold\n        kind: other\n        machines:\n" + ROOM.replace(
           "room-1", "room-2") + "      - id: packing\n        kind: packaging\n"
       "        machines:\n")],
     "lines[0].stages[1]", "- id: cold\n", "a stage of monitoring-only units has no production"),
    # a production machine needs its automation as ever, at its own key
    ("a production machine without automation",
     [("            automation: automatic\n            ideal_cycle_s: 0.5\n",
       "            ideal_cycle_s: 0.5\n")],
     "lines[0].stages[1].machines[0].automation", "- id: packer-1", "required key is missing"),
    ("a production machine without a state signal",
     [(PACKER, "              speed: {node: \"ns=2;s=Packer1.Speed\"}\n")],
     "lines[0].stages[1].machines[0].signals", "signals:\n              speed",
     "needs a `running` signal"),
]


def edited(edits: list[tuple[str, str]]) -> str:
    text = WITH_ROOM
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def errors_of(text: str) -> list[ConfigIssue]:
    try:
        parse_config(text, "plant.yaml")
    except ConfigError as e:
        return e.issues
    return []


def test_a_cold_room_is_valid() -> None:
    cfg = parse_config(WITH_ROOM, "plant.yaml")
    (room,) = [m for ln in cfg.lines for s in ln.stages for m in s.machines
               if m.monitoring_only]
    assert (room.id, room.kind, room.automation, room.counts_units) == (
        "room-1", "cold_room", None, False)
    assert cfg.lines[0].stages[1].production == [cfg.lines[0].stages[1].machines[0]]


@pytest.mark.parametrize(("case", "edits", "path", "at", "words"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_check_refuses(case: str, edits: list[tuple[str, str]], path: str, at: str,
                       words: str) -> None:
    text = edited(edits)
    found = [i for i in errors_of(text) if i.path == path]
    assert found, f"{case}: no error at {path}; got {errors_of(text)}"
    assert any(i.line == line_of(text, at) for i in found), found
    assert any(words in i.message for i in found), found


def test_the_refusals_are_translated() -> None:
    (issue,) = errors_of(edited(ROWS[0][1]))
    shown = localized(issue.message, "zh-CN")
    assert "`ideal_rate`" in shown and "cold_room" in shown and "（" in shown
    assert "monitoring-only" not in shown  # the template matched: Chinese words


def test_a_manual_stage_may_hold_a_cold_room() -> None:
    # a stage done by hand has no machines to measure, but may hold a cold room
    text = WITH_ROOM.replace(
        "      - id: packing\n",
        "      - id: chilling\n        kind: other\n        manual: true\n"
        "        machines:\n" + ROOM.replace("room-1", "room-2") + "      - id: packing\n",
        1)
    cfg = parse_config(text, "plant.yaml")
    assert [s.id for s in cfg.lines[0].stages if s.manual] == ["chilling"]


def test_the_schema_knows_the_kinds() -> None:
    schema = json.dumps(config_schema())
    for kind in ("production", "cold_room", "chiller", "freezer", "freezer_tunnel",
                 "monitor"):
        assert f'"{kind}"' in schema


@pytest.mark.parametrize(("edit", "where"), [
    (lambda room, packer: None, None),
    (lambda room, packer: room.update(ideal_rate=60), 1),
    (lambda room, packer: room.update(state={"map": "packml"}), 1),
    (lambda room, packer: room["signals"].update(good={"address": 22}), 1),
    (lambda room, packer: packer.pop("automation"), 0),
], ids=["valid", "ideal-rate", "state-map", "counter", "production-without-automation"])
def test_an_editor_marks_it_too(edit, where) -> None:  # type: ignore[no-untyped-def]
    """`lineside schema` says the same to yaml-language-server as check does: an error
    on the machine `where` (0 the packer, 1 the cold room), nowhere else."""
    doc = yaml.safe_load(WITH_ROOM)
    packer, room = doc["lines"][0]["stages"][1]["machines"]
    edit(room, packer)
    errors = list(jsonschema.Draft202012Validator(config_schema()).iter_errors(doc))
    if where is None:
        assert errors == []
    else:
        assert errors
        assert {tuple(e.absolute_path)[:6] for e in errors} == {
            ("lines", 0, "stages", 1, "machines", where)}


def test_check_counts_the_units_apart(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plant.yaml"
    path.write_text(WITH_ROOM.replace("  timezone: Asia/Shanghai\n",
                                      "  timezone: Asia/Shanghai\n  locale: en\n"),
                    encoding="utf-8")
    assert main(["check", "--offline", str(path)]) == 0
    out = capsys.readouterr().err
    assert "2 machines" in out and "1 monitoring-only unit" in out


def test_check_print_shows_the_unit_as_it_can_be_read_back(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`check --print` fills in defaults; a cold room's printout has none of the keys it
    may not have, so the printed file checks valid again."""
    path = tmp_path / "plant.yaml"
    path.write_text(WITH_ROOM, encoding="utf-8")
    assert main(["check", "--offline", "--print", str(path)]) == 0
    printed = capsys.readouterr().out.split("# Modbus read plans")[0]
    room = next(m for ln in yaml.safe_load(printed)["lines"] for s in ln["stages"]
                for m in s["machines"] if m["id"] == "room-1")
    assert room["kind"] == "cold_room" and "automation" not in room and "state" not in room
    assert parse_config(printed, "printed.yaml").lines[0].stages[1].machines[1] \
        == parse_config(WITH_ROOM, "plant.yaml").lines[0].stages[1].machines[1]
