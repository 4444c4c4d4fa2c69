"""`check` speaks the site's language; key paths and line:column stay as written (issue 25)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_core import PydanticKnownError

from lineside.cli.main import main
from lineside.config.messages import localized, pydantic_templates
from lineside.i18n import translator

HEAD = """\
site: {enterprise_id: e1, enterprise_name: E, site_id: s1, region: "510114"%s}
devices:
  - {id: plc, type: modbus-tcp, host: 127.0.0.1}
"""
LINES = """\
lines:
  - id: l1
    stages:
      - id: st
        kind: frying
        machines:
          - {id: m1, automation: automatic, ideal_rate: %s, source: %s, state: {map: packml},
             signals: {state: {table: holding, address: 0, type: uint16}}%s}
"""

# mistake -> (LINES's ideal_rate, source, extra key), the key path, its line, en, zh-CN
MISTAKES = [
    ("unknown key", ("60", "plc", ", colour: red"),
     "lines[0].stages[0].machines[0].colour", 11, "unknown key", "未知的键"),
    ("out of range", ("-5", "plc", ""),
     "lines[0].stages[0].machines[0].ideal_rate", 10, "greater than 0", "应大于 0"),
    ("wrong type", ("fast", "plc", ""),
     "lines[0].stages[0].machines[0].ideal_rate", 10, "valid number", "应为数字"),
    ("unknown reference", ("60", "plc9", ""),
     "lines[0].stages[0].machines[0].source", 10, "unknown device 'plc9'",
     "未知的设备 'plc9'"),
]


def _write(tmp_path: Path, lines: tuple[str, str, str], locale: str = "") -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(HEAD % locale + LINES % lines, encoding="utf-8")
    return p


@pytest.mark.parametrize(("case", "lines", "path", "line", "en", "zh"), MISTAKES,
                         ids=[m[0] for m in MISTAKES])
def test_a_mistake_is_told_in_both_languages_at_its_key_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str,
        lines: tuple[str, str, str], path: str, line: int, en: str, zh: str) -> None:
    config = _write(tmp_path, lines)
    assert main(["check", str(config)]) == 2  # no site.locale: zh-CN, the default
    shown = capsys.readouterr().err
    assert re.search(rf"c\.yaml:{line}:\d+ {re.escape(path)}: .*{re.escape(zh)}", shown), shown
    assert "1 个错误" in shown

    assert main(["check", "--locale", "en", str(config)]) == 2
    shown = capsys.readouterr().err
    assert re.search(rf"c\.yaml:{line}:\d+ {re.escape(path)}: .*{re.escape(en)}", shown), shown
    assert "1 error" in shown


def test_the_files_own_locale_is_used_even_when_it_is_invalid(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path, ("-5", "plc", ""), locale=", locale: en")
    assert main(["check", str(config)]) == 2
    assert "greater than 0" in capsys.readouterr().err
    assert main(["check", "--locale", "zh-CN", str(config)]) == 2
    assert "应大于 0" in capsys.readouterr().err


def test_a_valid_file_is_reported_in_its_locale(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path, ("60", "plc", ""))
    assert main(["check", str(config)]) == 0
    assert "有效（1 台设备，1 条产线，1 台机器" in capsys.readouterr().err


def test_a_file_problem_and_an_unknown_message_in_chinese_or_as_written() -> None:
    assert localized("cannot read the file: Permission denied", "zh-CN") == \
        "无法读取该文件：Permission denied"
    assert localized("Input should be greater than 0 (got -5)", "zh-CN") == "应大于 0（实际为 -5）"
    assert localized("state map 'packml' needs a `state` signal", "zh-CN") == \
        "状态映射 'packml' 需要一个 `state` 信号"
    assert localized("List should have at least 1 item after validation, not 0", "zh-CN") == \
        "列表至少应有 1 项，实际为 0 项"
    # a rare message has no template: shown in English rather than half translated
    assert localized("give `min`, `max` or both", "zh-CN") == "give `min`, `max` or both"


SAMPLE_CTX = {"gt": 0, "ge": 1, "lt": 2, "le": 3, "pattern": "^a$", "class_name": "Line",
              "expected": "'a' or 'b'", "error": "invalid character in hour"}


@pytest.mark.parametrize("error_type", sorted(pydantic_templates(translator("en"))))
def test_each_pydantic_template_is_pydantics_own_wording(error_type: str) -> None:
    """A pydantic upgrade that rewords a message fails here, not silently in English."""
    template = pydantic_templates(translator("en"))[error_type]
    ctx = {k: v for k, v in SAMPLE_CTX.items() if "{" + k + "}" in template}
    assert PydanticKnownError(error_type, ctx or None).message() == template.format(**ctx)


@pytest.mark.parametrize(("error_type", "ctx", "message"), [
    ("too_short", {"field_type": "List", "min_length": 1, "actual_length": 0},
     "列表至少应有 1 项，实际为 0 项"),
    ("too_long", {"field_type": "List", "max_length": 2, "actual_length": 3},
     "列表最多只能有 2 项，实际为 3 项"),
    ("string_too_short", {"min_length": 2}, "字符串至少应有 2 个字符"),
    ("string_too_long", {"max_length": 64}, "字符串最多只能有 64 个字符"),
])
def test_pydantics_length_messages_singular_or_plural_are_translated(
        error_type: str, ctx: dict[str, object], message: str) -> None:
    assert localized(PydanticKnownError(error_type, ctx).message(), "zh-CN") == message


def test_json_for_tooling_stays_english_whatever_the_locale(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    config = _write(tmp_path, ("-5", "plc", ""), locale=", locale: zh-CN")
    assert main(["check", "--json", str(config)]) == 2
    (issue,) = json.loads(capsys.readouterr().out)
    assert issue["path"] == "lines[0].stages[0].machines[0].ideal_rate"
    assert issue["line"] == 10
    assert issue["message"] == "Input should be greater than 0 (got -5)"
