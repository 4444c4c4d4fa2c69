"""A logged-in visitor of the station over plain HTTP (urllib with a cookie jar): the
session cookie and each form's CSRF token, as a browser keeps them."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request


class Visitor:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.web = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def _open(self, path: str, data: bytes | None = None) -> tuple[int, str]:
        try:
            with self.web.open(self.base + path, data=data, timeout=15) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        m = re.search(r'name="csrf" value="([^"]+)"', text)
        if m:
            self.csrf = m.group(1)
        return status, text

    def get(self, path: str) -> tuple[int, str]:
        return self._open(path)

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        """The form as the page sent it (its CSRF token); redirects followed."""
        return self._open(path, urllib.parse.urlencode({"csrf": self.csrf, **fields}).encode())

    def login(self, name: str, password: str) -> None:
        self.get("/login")
        status, text = self.post("/login", {"user": name, "password": password})
        assert status == 200 and f"{name} · " in text, (status, text[:500])
