"""The station's web application (aiohttp.web, Jinja2 with autoescaping, htmx).

Pages: `/` the live line view (its body refreshed every 2 s through htmx, no reload),
`/stops` the stops per line and shift with the two-tap classification, `/pareto` the
downtime Pareto, `/handover` the shift handover (printable). `POST` requests change
something and each needs its session's CSRF token. docs/station.md has the rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from lineside.config.models import LinesideConfig
from lineside.config.station import UNCLASSIFIED
from lineside.engine.actions import DISPOSITIONS, entry_event
from lineside.engine.actions import EVENT_SIGNAL as ENTRY_SIGNAL
from lineside.engine.emit import ns
from lineside.engine.lots import EVENT_SIGNAL as LOT_SIGNAL
from lineside.engine.lots import lot_event
from lineside.engine.reasons import EVENT_SIGNAL, ReasonLedger, classify_event
from lineside.i18n import Translator, translator
from lineside.samples import Quality, Sample
from lineside.station import records, views
from lineside.station.journal import Journal
from lineside.station.memory import Memory
from lineside.station.roles import may
from lineside.station.sessions import Session, Sessions, Throttle, csrf_ok
from lineside.station.texts import (
    ccp_status,
    deviation_status,
    disposition,
    refusal,
    role_name,
    texts,
    unit_kind,
)
from lineside.station.users import UserStore

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
SESSION = web.RequestKey("session", Session)
FORM: web.RequestKey[MultiDictProxy[Any]] = web.RequestKey("form", MultiDictProxy)  # POST form
COOKIE = "lineside_station"
REFRESH_S = 2
# No inline script or style, nothing from elsewhere: a note cannot run code even if
# escaping failed somewhere, and gateways have no internet anyway.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


class Backend(Protocol):
    """What the station needs of the agent (lineside.runtime.hub.Agent has it)."""

    cfg: LinesideConfig
    engine: Any  # lineside.engine.core.Engine once started

    def clock(self) -> float: ...

    def on_samples(self, samples: Sequence[Sample]) -> None: ...


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StationApp:
    def __init__(self, backend: Backend, secure: bool = False) -> None:
        cfg = backend.cfg
        assert cfg.station is not None
        self.backend = backend
        self.cfg = cfg.station
        self.tz = cfg.site.timezone
        self.t: Translator = translator(cfg.site.locale)
        self.T = texts(self.t)
        self.secure = secure
        state_dir = Path(cfg.state_dir)
        self.users = UserStore(state_dir)
        self.journal = Journal(state_dir)
        self.sessions = Sessions(idle_s=self.cfg.session_minutes * 60.0)
        self.throttle = Throttle()
        self._hashing = ThreadPoolExecutor(1, thread_name_prefix="station-login")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined)
        self.env.filters.update(clock=lambda t, s=False: views.clock(t, self.tz, s),
                                minutes=views.minutes, pct=views.pct)
        self.env.globals.update(T=self.T, t=self.t, ccp_status=lambda s: ccp_status(self.t, s),
                                disposition=lambda v: disposition(self.t, v),
                                deviation_status=lambda v: deviation_status(self.t, v),
                                unit_kind=lambda v: unit_kind(self.t, v),
                                role_name=lambda v: role_name(self.t, v),
                                may=may, refresh_s=REFRESH_S, lang=self.t.html_lang)
        # The last closed shift's line figures, for a handover signed after the shift
        # ended, and the corrective-action records: kept across restarts (memory.py).
        self.memory = Memory(state_dir, cfg.site.site_id)
        add_listener = getattr(backend, "add_listener", None)
        if add_listener is not None:
            add_listener(self._on_points)
        self.machines: dict[str, tuple[str, str]] = {
            m.id: (m.name or m.id, line.id) for line in cfg.lines for st in line.stages
            for m in st.machines}
        self.lines = [(ln.id, ln.name or ln.id) for ln in cfg.lines]
        self._live_cache: tuple[int, str] | None = None  # (second, the /live fragment)
        self.corrective = [(a.id, a.name or a.id) for a in cfg.corrective_actions]

    # -- the application ---------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        r = app.router
        r.add_get("/login", self.login_page)
        r.add_post("/login", self.login)
        r.add_post("/logout", self.logout)
        r.add_get("/", self.live)
        r.add_get("/live", self.live_fragment)
        r.add_get("/stops", self.stops)
        r.add_post("/classify", self.classify)
        r.add_get("/pareto", self.pareto)
        r.add_get("/handover", self.handover)
        r.add_post("/handover/note", self.note)
        r.add_post("/handover/sign", self.sign)
        r.add_get("/lots", self.lots)
        r.add_post("/lots/start", self.lot_command)
        r.add_post("/lots/end", self.lot_command)
        r.add_get("/deviations", self.deviations)
        r.add_post("/deviations/action", self.entry)
        r.add_post("/deviations/dispose", self.entry)
        r.add_post("/deviations/verify", self.entry)
        r.add_static("/static", HERE / "static", append_version=True)
        return app

    @property
    def ledger(self) -> ReasonLedger:
        return self.backend.engine.reasons

    def now(self) -> float:
        return self.backend.clock()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Session, login and CSRF for every request; security headers on every answer."""
        if request.path.startswith("/static/"):
            return _headers(await handler(request), self.secure)
        now = self.now()
        session = self.sessions.get(request.cookies.get(COOKIE), now)
        if session is not None and session.user is not None \
                and self.users.stamp(session.user) != session.stamp:
            self.sessions.end(session)  # password changed or user removed meanwhile
            session = None
        if session is None:
            session = self.sessions.new(now)
        request[SESSION] = session
        if request.method == "POST":
            form = await request.post()
            request[FORM] = form
            if not csrf_ok(session, _str(form.get("csrf"))):
                resp: web.StreamResponse = self._page(request, "message.html", status=403,
                                                      message=self.T["csrf"])
                return self._finish(resp, request)
        if session.user is None and request.path != "/login":
            if request.headers.get("HX-Request"):  # htmx refreshing a part: the whole page
                return self._finish(web.Response(headers={"HX-Redirect": "/login"}), request)
            return self._finish(_see("/login"), request)
        if self.backend.engine is None or self.backend.engine.reasons is None:
            # starting, or a reload took `station:` away: nothing to show until a restart
            return self._finish(web.Response(status=503, text="station unavailable"), request)
        try:
            resp = await handler(request)
        except web.HTTPException as e:  # as a plain response: headers and cookie added
            resp = web.Response(status=e.status, body=e.body, headers=e.headers)
        return self._finish(resp, request)

    def _finish(self, resp: web.StreamResponse, request: web.Request) -> web.StreamResponse:
        s: Session = request[SESSION]
        resp.set_cookie(COOKIE, s.token, httponly=True, samesite="Strict", secure=self.secure,
                        path="/", max_age=int(self.sessions.idle_s))
        return _headers(resp, self.secure)

    def _page(self, request: web.Request, template: str, status: int = 200,
              **ctx: Any) -> web.Response:
        s: Session = request[SESSION]
        html = self.env.get_template(template).render(session=s, path=request.path, **ctx)
        return web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8")

    def _deny(self, request: web.Request, action: str) -> None:
        """403 unless the session's role may do `action` (roles.py)."""
        s: Session = request[SESSION]
        if not may(s.role or "", action):
            page = self._page(request, "message.html", message=self.T["forbidden"])
            raise web.HTTPForbidden(text=page.text, content_type="text/html")

    # -- login -------------------------------------------------------------------------
    async def login_page(self, request: web.Request) -> web.StreamResponse:
        return self._page(request, "login.html", error=None)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = request[FORM]
        name, password = _str(form.get("user")) or "", _str(form.get("password")) or ""
        keys = [f"user:{name}", f"ip:{request.remote}"]
        now = self.now()
        wait = self.throttle.locked(keys, now)
        if wait > 0:
            msg = self.T["throttled"].format(minutes=max(1, round(wait / 60)))
            return self._page(request, "login.html", status=429, error=msg)
        # argon2 takes tens of milliseconds: off the event loop, which polls the PLCs, and
        # one at a time (its own thread): a burst of logins queues instead of taking
        # every core and 19 MiB each (bench/station.py)
        user = await asyncio.get_running_loop().run_in_executor(
            self._hashing, self.users.verify, name, password)
        if user is None:
            self.throttle.failed(keys, now)
            return self._page(request, "login.html", status=401, error=self.T["bad_login"])
        self.throttle.succeeded(keys)
        session = self.sessions.login(request[SESSION], user.name, user.role, now)
        session.stamp = self.users.stamp(user.name)
        request[SESSION] = session
        self.journal.append(now, user.name, user.role, "login", {"from": request.remote})
        return _see("/")

    async def logout(self, request: web.Request) -> web.StreamResponse:
        self.sessions.end(request[SESSION])
        request[SESSION] = self.sessions.new(self.now())
        return _see("/login")

    # -- the live view ---------------------------------------------------------------------
    def _live_ctx(self) -> dict[str, Any]:
        now = self.now()
        eng = self.backend.engine
        awaiting: dict[str, int] = {}
        for r in views.stop_rows(self.ledger, now, self.machines, self.T["unclassified"]):
            if r.reason == UNCLASSIFIED:
                awaiting[r.line] = awaiting.get(r.line, 0) + 1
        view = eng.view(now)
        return {"view": view, "awaiting": awaiting, "now": now, "period": self._period(view)}

    def _period(self, view: Any) -> str:
        """The engine's period ("shift day 2026-12-07", "since <ISO>") for a reader."""
        if view.period.startswith("shift "):
            _, name, date = view.period.split(" ", 2)
            return f"{self.T['shift']} {name} {date}"
        return self.T["since"].format(time=views.clock(view.period_start, self.tz))

    async def live(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "view")
        return self._page(request, "live.html", **self._live_ctx())

    async def live_fragment(self, request: web.Request) -> web.StreamResponse:
        """What htmx fetches every 2 s: rendered once per second of the clock and shared
        by every tablet (it holds nothing of the session; bench/README.md)."""
        self._deny(request, "view")
        second = int(self.now())
        if self._live_cache is None or self._live_cache[0] != second:
            html = self.env.get_template("_live.html").render(**self._live_ctx())
            self._live_cache = (second, html)
        return web.Response(text=self._live_cache[1], content_type="text/html",
                            charset="utf-8")

    # -- stops -----------------------------------------------------------------------------
    async def stops(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "view")
        now = self.now()
        lines = [(ln.id, ln.name or ln.id) for ln in self.backend.cfg.lines]
        line = request.query.get("line") or lines[0][0]
        h = self._handover(now)  # between shifts: the one that closed last
        rows = views.stop_rows(self.ledger, now, self.machines, self.T["unclassified"],
                               line=line, since=h.start)
        return self._page(request, "stops.html", lines=lines, line=line, rows=rows,
                          period=h.label, tree=self.cfg.categories,
                          msg=request.query.get("msg"))

    async def classify(self, request: web.Request) -> web.StreamResponse:
        form = request[FORM]
        s: Session = request[SESSION]
        machine, reason = _str(form.get("machine")) or "", _str(form.get("reason")) or ""
        try:
            stop_ns = int(_str(form.get("stop")) or "")
        except ValueError:
            raise web.HTTPBadRequest() from None
        stop = self.ledger.find(machine, stop_ns)
        if stop is None:
            raise web.HTTPNotFound()
        action = "classify" if stop.reason == UNCLASSIFIED else "reclassify"
        self._deny(request, action)
        now = self.now()
        event = classify_event(machine, stop_ns, reason, s.user or "")
        why = self.ledger.refusal(event, now)
        line = self.machines.get(machine, ("", ""))[1]
        if why is not None:
            return self._page(request, "message.html", status=409,
                              message=self.T["refused"].format(why=refusal(self.t, why)))
        self.journal.append(now, s.user or "", s.role or "", action,
                            {"machine": machine, "stop": stop_ns, "from": stop.reason,
                             "reason": reason})
        self.backend.on_samples([Sample(EVENT_SIGNAL, event, Quality.GOOD, now)])
        return _see(f"/stops?line={line}&msg=saved")

    # -- Pareto ----------------------------------------------------------------------------
    async def pareto(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "view")
        now = self.now()
        q = request.query
        which = q.get("range", "shift")
        view = self.backend.engine.view(now)
        if which == "day":
            start, end = views.local_day(now, self.tz)
        elif which == "custom":
            try:
                start = views.parse_local(q.get("from", ""), self.tz)
                end = views.parse_local(q.get("to", ""), self.tz)
            except ValueError:
                raise web.HTTPBadRequest(text="from/to: YYYY-MM-DDTHH:MM") from None
        else:
            which, start, end = "shift", view.period_start, now + 1
        line = q.get("line") or ""
        ms = {m for m, (_, lid) in self.machines.items() if lid == line} if line else None
        p = views.pareto(self.ledger, start, end, self.T["unclassified"], ms)
        lines = [(ln.id, ln.name or ln.id) for ln in self.backend.cfg.lines]
        return self._page(request, "pareto.html", p=p, which=which, start=start, end=end,
                          lines=lines, line=line, period=self._period(view),
                          start_local=_local_input(start, self.tz),
                          end_local=_local_input(end, self.tz))

    # -- handover --------------------------------------------------------------------------
    def _on_points(self, points: Sequence[Any]) -> None:
        """After every delivery (the agent's data path): what the pages need to keep."""
        try:
            closed = self.memory.observe(points, self.now())
            if closed is not None:
                # its end from the calendar (a feed can close it before the clock says so)
                sh = self.backend.engine.timeline.status(closed.start).shift
                end = sh.end if sh is not None and sh.start == closed.start else closed.end
                self.memory.closed(dataclasses.replace(closed, end=end))
        except Exception:  # the station's memory must never stop the points' delivery
            log.exception("station: delivered points not taken into its memory")

    def _handover(self, now: float) -> views.Handover:
        """The open shift's, or between shifts the one that closed last."""
        view = self.backend.engine.view(now)
        names = {ln.id: ln.name for ln in view.lines}
        if view.period.startswith("shift ") or self.memory.last_shift is None:
            rows = [views.LineFigures(ln.id, ln.name, ln.figures.oee, ln.figures.availability,
                                      ln.figures.performance, ln.figures.quality)
                    for ln in view.lines]
            return views.Handover(self._period(view), view.period, view.period_start,
                                  now + 1, rows)
        c = self.memory.last_shift
        rows = [views.LineFigures(lid, names.get(lid, lid), *f) for lid, f in c.lines.items()]
        return views.Handover(f"{self.T['shift']} {c.name} {c.date}",
                              f"shift {c.name} {c.date}", c.start, c.end, rows)

    async def handover(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "view")
        now = self.now()
        h = self._handover(now)
        p = views.pareto(self.ledger, h.start, h.end, self.T["unclassified"])
        entries = [e for e in self.journal.entries() if e["ts"] >= h.start
                   and e["action"] in ("note", "sign")]
        return self._page(request, "handover.html", h=h, pareto=p, period=h.label,
                          devs=self._shift_deviations(h),
                          top=[r for r in p.rows if r.reason != UNCLASSIFIED][:5],
                          ccps=self.backend.engine.ccp_view(),
                          notes=[e for e in entries if e["action"] == "note"],
                          signs=[e for e in entries if e["action"] == "sign"])

    def _shift_deviations(self, h: views.Handover) -> list[records.DeviationRow]:
        """The deviations that started in the handover's shift, with their status."""
        if self.backend.engine.actions is None:
            return []
        lo, hi = ns(h.start), ns(h.end)
        shift = {k: d for k, d in self._known().items() if lo <= d.start_ns < hi}
        return records.deviation_rows(shift, self.memory.records, self.memory.ends,
                                      dict(self.corrective))[::-1]

    async def note(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "note")
        text = (_str(request[FORM].get("text")) or "").strip()[:2000]
        if text:
            s: Session = request[SESSION]
            self.journal.append(self.now(), s.user or "", s.role or "", "note",
                                {"text": text})
        return _see("/handover")

    async def sign(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "sign")
        s: Session = request[SESSION]
        now = self.now()
        h = self._handover(now)
        summary = {r.id: {"oee": r.oee, "availability": r.availability,
                          "performance": r.performance, "quality": r.quality}
                   for r in h.lines}
        devs = {d.id: d.status for d in self._shift_deviations(h)}
        self.journal.append(now, s.user or "", s.role or "", "sign",
                            {"period": h.period, "lines": summary, "deviations": devs})
        return _see("/handover")

    # -- lots ------------------------------------------------------------------------------
    async def lots(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "view")
        eng = self.backend.engine
        line_machines = {lid: [m for m, (_, ln) in self.machines.items() if ln == lid]
                         for lid, _ in self.lines}
        return self._page(
            request, "lots.html", lines=self.lines, msg=request.query.get("msg"),
            current=records.current_lots(eng.lots, line_machines),
            rows=records.lot_rows(eng.lots, self._known(), self.machines, dict(self.lines)))

    async def lot_command(self, request: web.Request) -> web.StreamResponse:
        """A lot started or ended on a line: the path of `lineside lot start|end`, an
        `@lot` sample through the agent (docs/lots.md)."""
        self._deny(request, "lot")
        form, s = request[FORM], request[SESSION]
        action = "start" if request.path.endswith("/start") else "end"
        value = lot_event(action, (_str(form.get("lot")) or "").strip(),
                          line=_str(form.get("line")) or "", by=s.user or "")
        why = self.backend.engine.lots.refusal(value)
        if why is not None:
            return self._page(request, "message.html", status=409,
                              message=self.T["refused"].format(why=refusal(self.t, why)))
        now = self.now()
        self.journal.append(now, s.user or "", s.role or "", f"lot {action}",
                            {"event": value})
        self.backend.on_samples([Sample(LOT_SIGNAL, value, Quality.GOOD, now)])
        return _see("/lots?msg=saved")

    # -- deviations: corrective actions, dispositions, verification ---------------------------
    async def deviations(self, request: web.Request) -> web.StreamResponse:
        self._deny(request, "view")
        book = self.backend.engine.actions
        rows = [] if book is None else records.deviation_rows(
            self._known(), self.memory.records, self.memory.ends, dict(self.corrective))
        return self._page(request, "deviations.html", rows=rows, ccps=book is not None,
                          corrective=self.corrective, dispositions=DISPOSITIONS,
                          msg=request.query.get("msg"))

    def _known(self) -> dict[str, records.Known]:
        m = self.memory
        return records.known(self.backend.engine.actions, m.deviations, m.records,
                             ns(self.now()))

    async def entry(self, request: web.Request) -> web.StreamResponse:
        """A corrective action, a lot's disposition or a verification: the path of
        `lineside haccp action|dispose|verify-action`, an `@haccp.entry` sample through
        the agent, which the engine writes as a chained `ccp_action` record."""
        kind = request.path.rsplit("/", 1)[1]
        self._deny(request, "verify" if kind == "verify" else "act")
        book = self.backend.engine.actions
        if book is None:
            raise web.HTTPNotFound()
        form, s = request[FORM], request[SESSION]

        def field(name: str) -> str:
            return (_str(form.get(name)) or "").strip()

        extra = {"action": {"action": field("action"), "text": field("text")},
                 "dispose": {"lot": field("lot"), "disposition": field("disposition"),
                             "justification": field("justification")},
                 "verify": {"text": field("text")}}[kind]
        dev = field("deviation")
        value = entry_event(kind, dev, s.user or "", s.role or "", **extra)
        now = self.now()
        why = book.refusal(value, ns(now))
        if why is not None:
            return self._page(request, "message.html", status=409,
                              message=self.T["refused"].format(why=refusal(self.t, why)))
        self.journal.append(now, s.user or "", s.role or "", f"haccp {kind}",
                            {"event": value})
        self.backend.on_samples([Sample(ENTRY_SIGNAL, value, Quality.GOOD, now)])
        return _see(f"/deviations?msg=saved#{records.anchor(dev)}")


def _see(url: str) -> web.Response:
    """303: after a POST the browser GETs the page (no resubmission on reload)."""
    return web.Response(status=303, headers={"Location": url})


def _headers(resp: web.StreamResponse, secure: bool) -> web.StreamResponse:
    h = resp.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h.setdefault("Cache-Control", "no-store")
    if secure:
        h["Strict-Transport-Security"] = "max-age=31536000"
    return resp


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _local_input(t: float, tz: str) -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(t, ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")
