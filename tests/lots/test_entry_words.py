"""How `lineside haccp action|dispose|verify-action` names a deviation and the corrective
actions (lineside/cli/haccp_entry.py): by the configured names and plant time, in en and
zh-CN; ids only for what a person types, or for a deviation this configuration does not
know. (The answers through the running agent: test_entry_command.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lineside.cli.haccp_entry import deviation_words
from lineside.cli.main import main
from lineside.config.models import LinesideConfig
from lineside.i18n import translator
from tests.station.agent_thread import plant_config

START_NS = 1_796_019_300_000_000_000  # 2026-11-30 06:15 UTC, 14:15 in Asia/Shanghai


def config(tmp_path: Path, actions: list[dict[str, str]]) -> tuple[LinesideConfig, Path]:
    d = plant_config(tmp_path / "state", "http://127.0.0.1:9", "db", locale="en").model_dump(
        mode="json", exclude_none=True)
    d["lines"][0]["stages"][0]["machines"][0]["signals"]["temp"] = {
        "address": 5, "type": "int16"}
    ccp = {"kind": "frying", "hazard": "undercooking", "machine": "M1", "signal": "temp",
           "critical": {"min": 160.0}, "monitoring_interval_s": 7200}
    d["ccps"] = [{"id": "oil", "name": "炸油温度", **ccp}, {"id": "oil2", **ccp}]
    d["devices"][0]["interval_s"] = 3600
    d["corrective_actions"] = actions
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    return LinesideConfig(**d), path


def test_a_deviation_by_its_ccp_name_kind_and_plant_time(tmp_path: Path):
    cfg, _ = config(tmp_path, [])
    en, zh = translator("en"), translator("zh-CN")
    assert deviation_words(f"s1:oil:limit:{START_NS}", cfg, en) == \
        "the deviation of 炸油温度 (beyond a critical limit since 2026-11-30 14:15)"
    assert deviation_words(f"s1:oil:monitoring:{START_NS}", cfg, zh) == \
        "炸油温度的偏差（2026-11-30 14:15 起监控中断）"
    # a CCP without a name: its id is its name
    assert deviation_words(f"s1:oil2:limit:{START_NS}", cfg, en).startswith(
        "the deviation of oil2 (")
    # what this configuration cannot name stays as typed
    for dev in (f"s2:oil:limit:{START_NS}", f"s1:fryer:limit:{START_NS}", "s1:oil:limit:x",
                "s1:oil:limit", f"s1:oil:limit:{START_NS}:1"):
        assert deviation_words(dev, cfg, zh) == dev


@pytest.mark.parametrize(("locale", "actions", "argv", "said"), [
    ("en", [], ["--corrective", "reheat"],
     "haccp action: no corrective actions are configured (corrective_actions in the "
     "configuration)\n"),
    ("zh-CN", [{"id": "reheat", "name": "复热至 175 °C"}, {"id": "discard"}], [],
     "haccp action: 请用 --corrective 给出纠偏措施\n已配置的纠偏措施（请输入编号）：\n"
     "  reheat  复热至 175 °C\n  discard\n"),
])
def test_an_action_not_configured_is_refused_with_what_to_type(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: str,
        actions: list[dict[str, str]], argv: list[str], said: str):
    """Before the password is asked (no agent needed): exit 2, the ids to type."""
    _, path = config(tmp_path, actions)
    rc = main(["haccp", "action", "--config", str(path), "--deviation",
               f"s1:oil:limit:{START_NS}", "--by", "wang", "--locale", locale, *argv])
    assert (rc, capsys.readouterr().err) == (2, said)


def test_a_disposition_without_its_lot_is_refused_in_the_sites_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _, path = config(tmp_path, [])
    rc = main(["haccp", "dispose", "--config", str(path), "--deviation",
               f"s1:oil:limit:{START_NS}", "--by", "wang", "--locale", "zh-CN"])
    assert (rc, capsys.readouterr().err) == (
        2, "haccp dispose: 请给出 --lot 和 --disposition\n")
