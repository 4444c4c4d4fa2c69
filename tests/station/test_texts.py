"""The engine's refusals and the roles, as the station's reader reads them."""

from __future__ import annotations

import json

import pytest

from lineside.engine.actions import ActionBook, entry_event
from lineside.engine.lots import LotBook
from lineside.i18n import Translator
from lineside.station.roles import ROLES
from lineside.station.texts import refusal, role_name


def _lots_refusal(event: dict[str, str]) -> str:
    """The engine's own words for a refused lot command, not a copy of them."""


    book = LotBook({"M1": {}}, {"L1": ["M1"]}, {"M1": (0,)}, [])
    why = book.refusal(json.dumps(event))
    assert why is not None
    return why


@pytest.mark.parametrize(("event", "zh", "en"), [
    ({"action": "end", "lot": "B-1", "line": "L1", "by": "li"},
     "批次 B-1 未在该处生产", "lot B-1 is not running there"),
    ({"action": "start", "lot": "B-1", "line": "L9", "by": "li"},
     "没有产线 L9", "no line L9"),
    ({"action": "start", "lot": "B-1", "line": "L1", "by": ""}, "未注明操作人", "no user"),
])
def test_a_lot_refusal_reads_in_the_sites_language(event: dict[str, str], zh: str,
                                                   en: str) -> None:
    why = _lots_refusal(event)
    assert refusal(Translator("zh-CN"), why) == zh
    assert refusal(Translator("en"), why) == en


@pytest.mark.parametrize(("deviation", "zh", "en"), [
    ("other:ccp1:limit:1", "其他场所的偏差（other；本网关属于 plant）",
     "a deviation of another site (other; this agent is plant)"),
    ("plant:ccp1:limit:1", "没有偏差 plant:ccp1:limit:1", "no deviation plant:ccp1:limit:1"),
])
def test_an_entry_refusal_reads_in_the_sites_language(deviation: str, zh: str,
                                                       en: str) -> None:
    book = ActionBook("plant", {"reheat": "Reheat"})
    why = book.refusal(entry_event("action", deviation, "li", "qa", action="reheat"))
    assert why is not None
    assert refusal(Translator("zh-CN"), why) == zh
    assert refusal(Translator("en"), why) == en


def test_every_role_has_a_name_in_both_languages() -> None:
    zh = {r: role_name(Translator("zh-CN"), r) for r in ROLES}
    assert zh == {"operator": "操作工", "supervisor": "班组长", "qa": "质检",
                  "viewer": "只读用户"}
    assert role_name(Translator("en"), "qa") == "QA"


def test_a_refusal_it_does_not_know_is_shown_as_it_is() -> None:
    assert refusal(Translator("zh-CN"), "something new") == "something new"
