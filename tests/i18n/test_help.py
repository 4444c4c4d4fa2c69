"""--help in the reader's language; the man page and completions English and stable
(issue 25; docs/design.md, Language)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from lineside.cli.main import COMMANDS, help_locale


def _lineside(*args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("LINESIDE_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG")}
    r = subprocess.run([sys.executable, "-m", "lineside.cli", *args], capture_output=True,
                       text=True, timeout=120, env={**clean, **env})
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize(("environ", "locale"), [
    ({}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),  # LC_ALL before LANG
    ({"LANG": "en_US.UTF-8", "LINESIDE_LOCALE": "zh-CN"}, "zh-CN"),  # ours before all
    ({"LANG": "zh_CN.UTF-8", "LINESIDE_LOCALE": "en"}, "en"),
    ({"LINESIDE_LOCALE": "fr", "LANG": "zh_CN.GB18030"}, "zh-CN"),  # unknown: ignored
])
def test_the_language_of_help_comes_from_the_environment(environ: dict[str, str],
                                                         locale: str) -> None:
    assert help_locale(environ) == locale


def test_help_in_chinese_lists_every_command_and_argparses_words() -> None:
    shown = _lineside("--help", LANG="zh_CN.UTF-8")
    assert shown.startswith("用法：lineside")
    for words in ("位置参数", "选项", "显示此帮助信息并退出", "校验配置文件", "运行采集代理"):
        assert words in shown
    assert all(name in shown for name in COMMANDS)  # command names stay as typed
    sub = _lineside("check", "--help", LINESIDE_LOCALE="zh-CN")
    assert sub.startswith("用法：lineside check") and "--offline" in sub


def test_help_in_english_is_argparses() -> None:
    shown = _lineside("--help")
    assert shown.startswith("usage: lineside")
    assert "positional arguments" in shown and "show this help message and exit" in shown
    assert COMMANDS["check"] in shown


@pytest.mark.parametrize("command", [["man"], ["completion", "bash"], ["completion", "zsh"]])
def test_man_page_and_completions_stay_english_whatever_the_locale(command: list[str]
                                                                   ) -> None:
    english = _lineside(*command)
    assert _lineside(*command, LANG="zh_CN.UTF-8", LINESIDE_LOCALE="zh-CN") == english
    assert "check" in english and not re.search(r"[\u4e00-\u9fff]", english)
