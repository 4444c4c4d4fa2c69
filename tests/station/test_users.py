"""Users, sessions, throttling and the journal of the operator station (docs/station.md)."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from lineside.cli.main import main
from lineside.station.journal import FILE_NAME, Journal, verify
from lineside.station.sessions import Sessions, Throttle, csrf_ok
from lineside.station.users import UserError, UserStore


def test_only_an_argon2_hash_is_stored_and_it_verifies(tmp_path: Path) -> None:
    store = UserStore(tmp_path)
    store.add("王伟", "operator", "correct horse")
    raw = (tmp_path / "station-users.json").read_text(encoding="utf-8")
    assert "correct horse" not in raw and "$argon2id$" in raw
    assert stat.S_IMODE((tmp_path / "station-users.json").stat().st_mode) == 0o600
    u = store.verify("王伟", "correct horse")
    assert u is not None and (u.name, u.role) == ("王伟", "operator")
    assert store.verify("王伟", "wrong horse") is None
    assert store.verify("nobody", "correct horse") is None


def test_changes_are_checked(tmp_path: Path) -> None:
    store = UserStore(tmp_path)
    store.add("li", "supervisor", "12345678")
    with pytest.raises(UserError, match="exists"):
        store.add("li", "operator", "12345678")
    with pytest.raises(UserError, match="unknown role"):
        store.add("zhang", "boss", "12345678")
    with pytest.raises(UserError, match="at least 8"):
        store.add("zhang", "qa", "short")
    with pytest.raises(UserError, match="user name"):
        store.add("a b", "qa", "12345678")
    store.passwd("li", "another password")
    assert store.verify("li", "12345678") is None
    assert store.verify("li", "another password") is not None
    store.remove("li")
    assert store.list() == [] and store.verify("li", "another password") is None


def test_the_users_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    def users(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["users", "--state-dir", str(tmp_path), *argv])

    assert users("add", "li", "--role", "supervisor", "--password-stdin",
                 stdin="s3cret-pass\n") == 0
    assert users("add", "wang", "--role", "operator", "--password-stdin",
                 stdin="0perator-pass\n") == 0
    with pytest.raises(SystemExit):  # argparse: not one of the roles
        users("add", "zhao", "--role", "admin", "--password-stdin", stdin="x" * 9)
    assert users("add", "zhao", "--role", "qa", "--password-stdin", stdin="short\n") == 2
    capsys.readouterr()
    assert users("list") == 0
    assert capsys.readouterr().out == "li\tsupervisor\nwang\toperator\n"
    assert users("passwd", "wang", "--password-stdin", stdin="new-pass-1\n") == 0
    assert UserStore(tmp_path).verify("wang", "new-pass-1") is not None
    assert users("remove", "nobody") == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert users("remove", "wang") == 0
    assert [u.name for u in UserStore(tmp_path).list()] == ["li"]


def test_a_session_expires_after_its_idle_time() -> None:
    sessions = Sessions(idle_s=600)
    s = sessions.login(None, "li", "operator", now=1000.0)
    assert sessions.get(s.token, 1500.0) is s  # used: its idle time restarts
    assert sessions.get(s.token, 2099.0) is s
    assert sessions.get(s.token, 2700.0) is None  # 601 s idle
    assert sessions.get(s.token, 2701.0) is None


def test_a_login_replaces_the_visitors_token_and_csrf() -> None:
    sessions = Sessions(idle_s=600)
    visitor = sessions.new(0.0)
    user = sessions.login(visitor, "li", "operator", 1.0)
    assert user.token != visitor.token and user.csrf != visitor.csrf
    assert sessions.get(visitor.token, 2.0) is None
    assert csrf_ok(user, user.csrf)
    assert not csrf_ok(user, visitor.csrf) and not csrf_ok(user, None)
    assert not csrf_ok(None, user.csrf)


def test_five_wrong_passwords_lock_the_name_and_the_address() -> None:
    t = Throttle()
    keys = ["user:li", "ip:10.0.0.5"]
    for i in range(4):
        t.failed(keys, 100.0 + i)
        assert t.locked(keys, 100.0 + i) == 0
    t.failed(keys, 104.0)
    assert t.locked(["user:li"], 104.0) == 300.0
    assert t.locked(["user:other", "ip:10.0.0.5"], 200.0) == 204.0  # the address too
    assert t.locked(keys, 404.0) == 0  # the lock ends
    t.failed(keys, 405.0)
    t.succeeded(keys)  # a good login starts the count again
    for i in range(4):
        t.failed(keys, 406.0 + i)
    assert t.locked(keys, 410.0) == 0


def test_the_journal_is_a_hash_chain(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.append(1.0, "wang", "operator", "classify", {"machine": "M1", "reason": "belt"})
    j.append(2.0, "li", "supervisor", "reclassify", {"machine": "M1", "reason": "motor"})
    j = Journal(tmp_path)  # reopened: it continues the chain
    j.append(3.0, "li", "supervisor", "note", {"text": "<script>alert(1)</script>"})
    path = tmp_path / FILE_NAME
    assert verify(path) == []
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2, 3]
    forged = json.loads(lines[0])
    forged["data"]["reason"] = "motor"  # someone edits who did what
    path.write_text("\n".join([json.dumps(forged), *lines[1:]]) + "\n", encoding="utf-8")
    assert verify(path) == ["line 1: hash does not match its contents"]
    path.write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")  # one removed
    assert verify(path) == ["line 2: seq 3 after 1",
                            "line 2: prev does not match the line before"]
