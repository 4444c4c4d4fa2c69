"""Logins that expire, CSRF tokens, and login throttling (pure: the clock is passed in).

A session is a random token in an HttpOnly, SameSite=Strict cookie, with its own CSRF
token that every form carries; it expires `idle_s` after its last use. A visitor who has
not logged in gets a session without a user, so the login form has a CSRF token too. A
login replaces the visitor's token (no fixation).

Throttling: `MAX_FAILURES` wrong passwords in a row for one name, or from one client
address, lock that name or address for `LOCK_S` seconds; while locked even the right
password is refused, so guessing gains nothing by waiting less.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

MAX_FAILURES = 5
LOCK_S = 300.0
MAX_SESSIONS = 10000  # visitors' sessions beyond it drop the oldest (memory bound)


@dataclass(slots=True)
class Session:
    token: str
    csrf: str
    last: float
    user: str | None = None
    role: str | None = None
    stamp: str | None = None  # the user's password hash tail at login (users.py, stamp)


def csrf_ok(session: Session | None, given: str | None) -> bool:
    return session is not None and given is not None and \
        hmac.compare_digest(session.csrf.encode(), given.encode())


@dataclass
class Sessions:
    idle_s: float
    _by_token: dict[str, Session] = field(default_factory=dict)

    def new(self, now: float, user: str | None = None, role: str | None = None) -> Session:
        if len(self._by_token) >= MAX_SESSIONS:
            self.expire(now)
            anon = [t for t, s in self._by_token.items() if s.user is None]
            for t in anon[: len(anon) // 2 + 1]:
                del self._by_token[t]
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, user, role)
        self._by_token[s.token] = s
        return s

    def get(self, token: str | None, now: float) -> Session | None:
        """The live session of a cookie (its idle time restarts), None when expired."""
        s = self._by_token.get(token) if token else None
        if s is None:
            return None
        if now - s.last > self.idle_s:
            del self._by_token[s.token]
            return None
        s.last = now
        return s

    def login(self, old: Session | None, user: str, role: str, now: float) -> Session:
        if old is not None:
            self._by_token.pop(old.token, None)
        return self.new(now, user, role)

    def end(self, s: Session) -> None:
        self._by_token.pop(s.token, None)

    def end_user(self, user: str) -> None:
        """Log a user out everywhere (password changed, user removed)."""
        for t in [t for t, s in self._by_token.items() if s.user == user]:
            del self._by_token[t]

    def expire(self, now: float) -> None:
        for t in [t for t, s in self._by_token.items() if now - s.last > self.idle_s]:
            del self._by_token[t]


@dataclass
class Throttle:
    max_failures: int = MAX_FAILURES
    lock_s: float = LOCK_S
    _fails: dict[str, int] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)

    def locked(self, keys: list[str], now: float) -> float:
        """Seconds until every key may try again (0: not locked)."""
        return max([self._until.get(k, 0.0) - now for k in keys] + [0.0])

    def failed(self, keys: list[str], now: float) -> None:
        if len(self._fails) + len(self._until) > MAX_SESSIONS:  # names made up by the
            self._fails.clear()  # thousand: forget the counts, keep the running locks
            self._until = {k: u for k, u in self._until.items() if u > now}
        for k in keys:
            n = self._fails.get(k, 0) + 1
            self._fails[k] = n
            if n >= self.max_failures:
                self._until[k] = now + self.lock_s
                self._fails[k] = 0

    def succeeded(self, keys: list[str]) -> None:
        for k in keys:
            self._fails.pop(k, None)
