"""The station's users: names, roles and argon2id password hashes in one file of the
state directory (`station-users.json`, mode 0600), managed by `lineside users`.

Only hashes are stored: argon2id with OWASP's parameters for a small machine (19 MiB,
2 passes, 1 lane), not argon2-cffi's defaults (64 MiB, 4 lanes): on a 2-core gateway a
burst of logins at shift change with those held 64 MiB and 4 threads per login and
stalled the PLC polls (bench/station.py). A hash made with other parameters is replaced at
the next good login (`needs_rehash`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lineside.station.roles import ROLES

FILE_NAME = "station-users.json"
NAME = re.compile(r"^[\w.-]{1,40}$")  # letters of any script: 王伟 is a name
MIN_PASSWORD = 8
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A hash to verify against for an unknown name, so that a login takes as long for a
# name that does not exist as for a wrong password (no user enumeration by timing).
_DUMMY = _HASHER.hash("no such user, no such password")


class UserError(ValueError):
    """A refused change (unknown user, bad name or role, short password)."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str


class UserStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): dict(v) for k, v in data.get("users", {}).items()}

    def _write(self, users: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp: mode 0600
                json.dump({"users": users}, f, ensure_ascii=False, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list(self) -> list[User]:
        return [User(n, u["role"]) for n, u in sorted(self._read().items())]

    def get(self, name: str) -> User | None:
        u = self._read().get(name)
        return User(name, u["role"]) if u else None

    def stamp(self, name: str) -> str | None:
        """Changes when the user's password does or the user goes: a session made before
        is then no longer valid (app.py)."""
        u = self._read().get(name)
        return u["hash"][-16:] if u else None

    def add(self, name: str, role: str, password: str) -> User:
        if not NAME.match(name):
            raise UserError(f"a user name is 1-40 letters, digits, '.', '_' or '-': {name!r}")
        if role not in ROLES:
            raise UserError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        users = self._read()
        if name in users:
            raise UserError(f"user {name!r} exists (use passwd, or remove it first)")
        users[name] = {"role": role, "hash": _hash(password)}
        self._write(users)
        return User(name, role)

    def passwd(self, name: str, password: str) -> None:
        users = self._read()
        if name not in users:
            raise UserError(f"no user {name!r}")
        users[name]["hash"] = _hash(password)
        self._write(users)

    def remove(self, name: str) -> None:
        users = self._read()
        if users.pop(name, None) is None:
            raise UserError(f"no user {name!r}")
        self._write(users)

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (in about the same time)."""
        users = self._read()
        u = users.get(name)
        try:
            _HASHER.verify(u["hash"] if u else _DUMMY, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if u is None:
            return None
        if _HASHER.check_needs_rehash(u["hash"]):
            u["hash"] = _hash(password)
            self._write(users)
        return User(name, u["role"])


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)
