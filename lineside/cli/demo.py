"""`lineside demo`: the simulated factory, the agent on it, and a live terminal view.

Without `--influx-url` points go to the local store (the delivery queue file under
`--state-dir`; `lineside export` prints them as line protocol). `--duration` stops by
itself and prints a summary: per machine the agent's A/P/Q/OEE/automation next to the
simulator's ground truth for the same period (`--summary-json` writes it for tools).
`--speed X` fast-forwards: the simulator and the agent share one simulated clock
running X times the wall clock (runtime/clock.py), so buckets, shifts and the summary
are in simulated seconds, and so is `--duration`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from rich.cells import cell_len
from rich.console import Console, JustifyMethod, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lineside.cli.bindfail import bind_failure
from lineside.cli.liveview import (
    WIDE,
    Health,
    OpenActions,
    Pager,
    count,
    keys,
    over,
    pct,
    render_page,
)
from lineside.cli.main import EXIT_FAILED, config_exit
from lineside.config.errors import ConfigError
from lineside.config.listen import parse_listen
from lineside.config.loader import load_config
from lineside.config.models import LinesideConfig
from lineside.engine import fields as F
from lineside.engine.fields import V
from lineside.engine.view import Figures, SiteView
from lineside.i18n import Translator, translator
from lineside.runtime.clock import REAL, Clock, ScaledClock
from lineside.runtime.hub import Agent, AgentOptions
from lineside.runtime.logs import setup_logging


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None,
                   help="plant configuration (default: the demo plant, config/demo.yaml)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="stop after this many (simulated) seconds and print a summary")
    p.add_argument("--speed", type=_speed_arg, default=1.0, metavar="X",
                   help="fast-forward: the plant and the agent run X times the wall clock "
                        "(default 1: real time)")
    p.add_argument("--seed", type=int, default=1, help="simulator seed")
    p.add_argument("--modbus-port", type=int, default=15020, help="0: any free port")
    p.add_argument("--opcua-port", type=int, default=14840, help="0: any free port")
    p.add_argument("--state-dir", type=Path, default=Path(".lineside-demo"),
                   help="local store: queue files, engine snapshot (default ./.lineside-demo)")
    p.add_argument("--influx-url", default=None,
                   help="write to this InfluxDB instead of the local store")
    p.add_argument("--influx-api", choices=("v1", "v2"), default="v1",
                   help="v1: /write with --influx-db (InfluxDB 1.x); v2: /api/v2/write")
    p.add_argument("--influx-db", default="lineside", help="v1 database / v2 bucket")
    p.add_argument("--influx-org", default="", help="v2 organisation")
    p.add_argument("--influx-token-env", default=None, help="v2: env variable with the token")
    p.add_argument("--truth", type=Path, default=None, help="record the simulator's truth")
    p.add_argument("--summary-json", type=Path, default=None,
                   help="write the final agent-vs-truth figures as JSON")
    p.add_argument("--no-live", action="store_true",
                   help="no live view (the default when stdout is not a terminal)")
    p.add_argument("--metrics", type=_listen_arg, default=None, metavar="ADDR",
                   help="serve /metrics, /healthz, /readyz on ADDR (host:port or "
                        "[ipv6]:port, e.g. 127.0.0.1:9108); off by default")
    p.add_argument("--station", type=_station_arg, default="127.0.0.1:0", metavar="ADDR",
                   help="serve the operator station on ADDR (default: a free loopback port, "
                        "printed at start); 'off': none")


def _demo_station(listen: str) -> dict[str, Any]:
    """config/demo-station.yaml as the `station:` section, when the station's packages
    are installed (`pip install 'lineside[station]'`); else the demo runs without it."""
    import importlib.util

    from lineside.simulator.server import demo_config_path

    missing = [m for m in ("aiohttp", "jinja2", "argon2") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"lineside demo: no operator station ({', '.join(missing)} not installed: "
              "pip install 'lineside[station]')", file=sys.stderr)
        return {}
    text = demo_config_path().with_name("demo-station.yaml").read_text(encoding="utf-8")
    return {**yaml.safe_load(text), "listen": listen}


def station_banner(url: str, state_dir: Path) -> str:
    """Where to open the station, and who can log in: two demo users with fresh random
    passwords the first time (the state directory keeps them)."""
    import secrets

    from lineside.station.users import UserStore

    store = UserStore(state_dir)
    made = []
    if not store.list():
        for name, role in (("operator", "operator"), ("supervisor", "supervisor")):
            pw = secrets.token_urlsafe(9)
            store.add(name, role, pw)
            made.append(f"{name} / {pw}")
    who = ("log in as " + ", ".join(made)) if made else \
        f"users of {state_dir} (lineside users --state-dir {state_dir} list)"
    return f"operator station on {url} — {who}"


def _station_arg(value: str) -> str:
    return value if value == "off" else _listen_arg(value)


def _listen_arg(value: str) -> str:
    try:
        parse_listen(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_config(args: argparse.Namespace) -> LinesideConfig:
    from lineside.simulator.server import demo_config_path, with_ports

    cfg = load_config(args.config or demo_config_path())
    if args.modbus_port == 0:
        args.modbus_port = _free_port()
    if args.opcua_port == 0:
        args.opcua_port = _free_port()
    cfg = with_ports(cfg, "127.0.0.1", args.modbus_port, args.opcua_port)
    sinks: list[dict[str, Any]] = [{"id": "local", "type": "local"}]
    if args.influx_url:
        if args.influx_api == "v1":
            sinks = [{"id": "influx", "type": "influxdb-v1", "url": args.influx_url,
                      "database": args.influx_db, "flush_interval_s": 1}]
        else:
            sinks = [{"id": "influx", "type": "influxdb-v2", "url": args.influx_url,
                      "bucket": args.influx_db, "org": args.influx_org,
                      "token_env": args.influx_token_env, "flush_interval_s": 1}]
    data = cfg.model_dump()
    http = ({"listen": args.metrics, "enabled": True} if args.metrics
            else {"listen": "127.0.0.1:0", "enabled": False})
    data.update(state_dir=args.state_dir.resolve(), sinks=sinks, http=http)
    if args.station != "off":
        data["station"] = _demo_station(args.station) or None
    return LinesideConfig.model_validate(data)


SCAN_S = 1.0  # simulated PLC scan period
VIEW_PHASE = 0.9  # read views this far into a scan: after the mid-scan polls completed


def _speed_arg(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = 0.0
    if not 0 < x <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a factor above 0, at most 100")
    return x


async def _sleep_to_grid(after: float, agent: Agent) -> float:
    """Sleep until scan k >= `after` has been polled by every device; return k.

    Polls run mid-scan (k + SCAN_S/2); on a loaded machine they can finish late, so wait
    for each device's cycle of scan k (bounded: a device that is down does not hold it).
    """
    import math

    clock = agent.time
    k = math.ceil(after / SCAN_S) * SCAN_S
    await clock.sleep(max(0.0, k + VIEW_PHASE * SCAN_S - clock.wall()))
    cycle = k + SCAN_S / 2 - 1e-3
    polled = [d.id for d in agent.cfg.devices if getattr(d, "mode", "poll") == "poll"]
    for _ in range(40):
        if all(agent.cycle_done.get(dev, 0.0) >= cycle for dev in polled):
            break
        await asyncio.sleep(0.05)  # real time: a late poll on a loaded machine
    return k


def _view_at(agent: Agent, t: float) -> SiteView:
    """The engine's figures at instant t, samples read at t included (a tick evaluates
    what the last cycle read; it closes nothing early: buckets end on whole minutes)."""
    t += 1e-6
    agent.tick(t)
    assert agent.engine is not None  # started
    return agent.engine.view(t)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:5.1f}%"


def health(agent: Agent) -> Health:
    assert agent.sinks is not None  # started
    return Health(tuple((d.device_id, bool(d.stats.up)) for d in agent.drivers),
                  tuple((sid, int(getattr(st, "written", 0)), int(getattr(st, "queue_points", 0)),
                         str(getattr(st, "last_error", "") or ""))
                        for sid, st in agent.sinks.stats().items()))


class LiveScreen:
    """The paged live view on a terminal (lineside/cli/liveview.py)."""

    def __init__(self, agent: Agent, console: Console) -> None:
        self.agent, self.console = agent, console
        self.t = translator(agent.cfg.site.locale)
        self.pager = Pager(time.monotonic())
        assert agent.engine is not None  # a started agent's view
        self.view = agent.engine.view(agent.clock())
        self.pages = 1

    def refresh(self) -> None:
        assert self.agent.engine is not None
        self.view = self.agent.engine.view(self.agent.clock())

    def render(self) -> RenderableType:
        w, h = self.console.size
        page = self.pager.tick(time.monotonic(), self.pages)
        assert self.agent.engine is not None
        out, self.pages = render_page(self.view, self.agent.engine.ccp_view(),
                                      health(self.agent), self.t, w, h, page,
                                      self.pager.auto, live_actions(self.agent, self.view.ts))
        return out


def live_actions(agent: Agent, now: float) -> OpenActions | None:
    """The live view's open corrective actions (None without CCPs)."""
    if agent.engine is None or agent.engine.actions is None:
        return None
    devs = open_actions(agent)
    if not devs:
        return OpenActions()
    old = devs[0]
    return OpenActions(len(devs), old["ccp_name"], max(0.0, now - old["start_ns"] / 1e9))


def _window(f0: Figures, f1: Figures) -> dict[str, Any]:
    """A machine's figures between two views, by the engine's own arithmetic: the
    difference of its additive vectors, then fields.to_fields (docs/design.md, OEE)."""
    d = [b - a for a, b in zip(f0.vector, f1.vector, strict=True)]
    f = F.to_fields(d, F.machine_rate(d), f1.counts)
    return {**{k: f.get(k) for k in F.RATIOS},
            "good": round(d[V.good_count]), "reject": round(d[V.reject_count]),
            "run_s": d[V.run_s], "planned_busy_s": d[V.planned_busy_s]}


def _machines(view: SiteView) -> dict[str, tuple[str, str, str, Figures, str]]:
    return {m.id: (line.id, st.id, m.state, m.figures, m.name)
            for line in view.lines for st in line.stages for m in st.machines}


def device_health(agent: Agent) -> dict[str, Any]:
    return {d.device_id: {"up": d.stats.up, "requests": d.stats.requests,
                          "errors": dict(d.stats.errors)} for d in agent.drivers}


def summary(agent: Agent, sim: Any, v0: SiteView, v1: SiteView, k0: float, k1: float,
            devices: dict[str, Any]) -> dict[str, Any]:
    """Agent figures over the window between two views, beside the truth for [k0, k1)."""
    from lineside.simulator.truth import truth_oee

    truth = truth_oee(sim.truth, agent.cfg, k0, k1) if sim.truth is not None else {}
    base = _machines(v0)
    machines: dict[str, Any] = {}
    for mid, (line, stage, state, f1, name) in _machines(v1).items():
        machines[mid] = {"line": line, "stage": stage, "state": state, "name": name,
                         "agent": _window(base[mid][3], f1),
                         "truth": dict(truth.get(mid, {}))}
    assert agent.engine is not None and agent.sinks is not None  # started
    return {"start": k0, "end": k1, "duration_s": k1 - k0,
            "site": {k: getattr(v1.figures, k) for k in F.RATIOS}, "machines": machines,
            "devices": devices,
            "ccps": {c.id: {"kind": c.kind, "status": c.status, "value": c.value,
                            "deviations": c.deviations, "losses": c.losses}
                     for c in agent.engine.ccp_view()},
            "open_actions": open_actions(agent),
            "sinks": {sid: {"written": s.written, "queue_points": s.queue_points}
                      for sid, s in agent.sinks.stats().items()}}


def print_summary(console: Console, data: dict[str, Any], t: Translator) -> None:
    """Per machine (its name), each figure as agent / simulator truth, in fixed widths
    that fit the terminal (the names shrink, never a number; as in the live view)."""
    wide = console.width >= WIDE
    pair = 2 * len(pct(1.0, wide)) + 3  # two figures, their flags and the slash
    names = [m.get("name") or mid for mid, m in data["machines"].items()]
    room = console.width - 4 * pair - 2 * 6 - 6  # six one-cell gaps
    name_w = max(8, min(room, max(map(cell_len, names), default=8)))
    tb = Table(title=t._("demo summary: {seconds} s, each figure agent / simulator truth")
               .format(seconds=f"{data['duration_s']:.0f}"), title_justify="left",
               box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False,
               collapse_padding=True, header_style="bold underline",
               width=name_w + 4 * pair + 2 * 6 + 6)
    ratios = (t.pgettext("live view", "A"), t.pgettext("live view", "P"),
              t.pgettext("live view", "Q"), t.pgettext("live view", "OEE"))
    heads: list[tuple[str, int, JustifyMethod]] = [
        (t._("Machine"), name_w, "left"), *((h, pair, "right") for h in ratios),
        (t.pgettext("live view", "good"), 6, "right"),
        (t.pgettext("live view", "reject"), 6, "right")]
    for head, w, just in heads:
        tb.add_column(head, justify=just, no_wrap=True, overflow="ellipsis", width=w,
                      min_width=w, max_width=w)
    for mid, m in data["machines"].items():
        a, tr = m["agent"], m["truth"]
        tb.add_row(Text(m.get("name") or mid),
                   *(f"{_flagged(a[k], wide)}/{_flagged(tr.get(k), wide)}"
                     for k in ("availability", "performance", "quality", "oee")),
                   count(a["good"], 6), count(a["reject"], 6))
    console.print(tb)


def _flagged(v: float | None, wide: bool) -> str:
    return pct(v, wide) + ("!" if over(v) else "")  # as in the live view's legend


async def _show(agent: Agent, console: Console, live_view: bool, stop: asyncio.Event,
                deadline: float | None) -> None:
    """Until stopped: the paged live view (keys read four times a second, figures once
    a second), or a line of site figures every 10 s where there is no terminal."""
    assert agent.engine is not None  # started
    screen = LiveScreen(agent, console) if live_view else None
    with contextlib.ExitStack() as stack:
        live = read = None
        if screen is not None:
            read = stack.enter_context(keys())
            live = stack.enter_context(Live(screen.render(), console=console, screen=True,
                                            auto_refresh=False))
        last = 0.0
        while not stop.is_set():
            if deadline is not None and agent.time.monotonic() >= deadline:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.25)
            typed = read() if read is not None else []
            for k in typed:
                if k == "q":
                    stop.set()
                if screen is not None:  # keys are read only for the live screen
                    screen.pager.key(k, time.monotonic())
            now = time.monotonic()
            if now - last < 1.0 and not typed:
                continue
            last = now
            if screen is not None and live is not None:
                screen.refresh()
                live.update(screen.render(), refresh=True)
            elif int(time.time()) % 10 == 0:
                f = agent.engine.view(agent.clock()).figures
                t = translator(agent.cfg.site.locale)
                console.print(t._("site OEE {oee} · automation {auto}").format(
                    oee=_pct(f.oee), auto=_pct(f.automation_rate))
                    + open_actions_text(agent, t, short=True))


def open_actions(agent: Agent) -> list[dict[str, Any]]:
    """The deviations still without a corrective action (engine/actions.py), oldest
    first, with the CCP's name: what `lineside haccp action` or the station must answer."""
    book = agent.engine.actions if agent.engine is not None else None
    names = {c.id: c.name or c.id for c in agent.cfg.ccps}
    return [{"deviation": k, "ccp": d.tags.get("ccp", ""),
             "ccp_name": names.get(d.tags.get("ccp", ""), ""), "kind": d.tags.get("kind", ""),
             "start_ns": d.start_ns} for k, d in (book.unanswered() if book else [])]


def open_actions_text(agent: Agent, t: Translator, short: bool = False,
                      where: str = "lineside haccp action") -> str:
    """' · open corrective actions N' (short) or the sentence after the summary, naming
    the oldest and `where` to answer it; '' without CCPs."""
    if agent.engine is None or agent.engine.actions is None:
        return ""
    devs = open_actions(agent)
    if short:
        return " · " + t._("open corrective actions {n}").format(n=len(devs))
    if not devs:
        return t._("open corrective actions: none")
    old = devs[0]
    when = time.strftime("%H:%M:%S", time.localtime(old["start_ns"] / 1e9))
    return t._("open corrective actions: {n} deviations without one, the oldest {ccp} at "
               "{when} ({id}); answer them on {where}").format(
                   n=len(devs), ccp=old["ccp_name"], when=when, id=old["deviation"],
                   where=where)


def _import_agent_modules(cfg: LinesideConfig) -> None:
    """What Agent.start() imports (the station's web stack the slowest)."""
    import importlib

    names = ["lineside.engine.core", "lineside.runtime.metrics", "lineside.sinks.sinkset"]
    for name in names + (["lineside.station.server"] if cfg.station is not None else []):
        with contextlib.suppress(ImportError):  # Agent.start() says what is missing
            importlib.import_module(name)


async def _demo(args: argparse.Namespace, cfg: LinesideConfig, console: Console) -> int:
    from lineside.simulator.server import SimulatedFactory

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    live_view = not args.no_live and console.is_terminal
    async with SimulatedFactory(cfg, seed=args.seed, modbus_port=args.modbus_port,
                                opcua_port=args.opcua_port, truth_path=args.truth,
                                scan_s=SCAN_S) as sim:
        # fast-forward from here: the servers' start-up (seconds) and the agent's imports
        # run in real time, so that the agent polls before the CCP script's first event
        clock: Clock = REAL
        if args.speed != 1:
            _import_agent_modules(cfg)
            clock = ScaledClock(args.speed)
            sim.follow(clock.speed, clock.epoch)
        # The simulated PLCs publish their image once per scan (whole seconds); the agent
        # samples mid-scan, so agent and truth look at the same instants (summary below).
        agent = Agent(cfg, options=AgentOptions(http=cfg.http.enabled, restore_snapshot=False,
                                                collection_offset_s=SCAN_S / 2), clock=clock)
        await agent.start()
        if agent.metrics_url:
            console.print(f"metrics on {agent.metrics_url}")
        answer = "lineside haccp action"  # where the open corrective actions are answered
        if agent.station is not None:
            console.print(station_banner(agent.station.url, Path(cfg.state_dir)))
            answer = f"{agent.station.url}deviations"
            if cfg.ccps:
                console.print(translator(cfg.site.locale)._(
                    "CCP deviations and their corrective actions: {url}").format(url=answer))
        # Baseline after the first complete cycle, at a fixed phase of the scan grid.
        k0 = await _sleep_to_grid(clock.wall() + 2 * SCAN_S, agent)
        # Views at the cycle's own timestamp (k + offset): the window then holds exactly
        # the scans k0 .. k1-1, as the truth does.
        v0 = _view_at(agent, k0 + SCAN_S / 2)
        deadline = None if args.duration is None else clock.monotonic() + args.duration
        try:
            await _show(agent, console, live_view, stop, deadline)
        finally:
            k1 = await _sleep_to_grid(clock.wall(), agent)
            v1 = _view_at(agent, k1 + SCAN_S / 2)
            devices = device_health(agent)  # before stop() closes the connections
            await agent.stop()
        data = summary(agent, sim, v0, v1, k0, k1, devices)
        still_open = open_actions_text(agent, translator(cfg.site.locale), where=answer)
    print_summary(console, data, translator(cfg.site.locale))
    if still_open:
        console.print(still_open)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(data, indent=2))
    where = (args.influx_url if args.influx_url else
             f"the local store in {cfg.state_dir} (lineside export --state-dir {cfg.state_dir})")
    console.print(f"points written to {where}")
    return 0


def run(args: argparse.Namespace) -> int:
    setup_logging("warning")
    # a pipe or a log file still gets the whole summary table
    console = Console() if sys.stdout.isatty() else Console(width=150)
    logging.getLogger("lineside").setLevel(logging.WARNING)
    # the simulated servers share this process: their protocol chatter is not the demo's
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    from lineside.simulator.server import ServeRefused

    picked = [k for k in ("modbus_port", "opcua_port") if getattr(args, k) == 0]
    tries = 3
    while True:
        try:
            cfg = demo_config(args)  # (picks the free ports)
        except ConfigError as e:
            print(e.render(), file=sys.stderr)
            return config_exit(e)
        try:
            return asyncio.run(_demo(args, cfg, console))
        except ServeRefused as e:
            tries -= 1
            if tries and e.port in {getattr(args, k) for k in picked}:
                # a free port picked for the simulated PLCs was taken before their server
                # bound it (any program can get it in between): pick again
                for k in picked:
                    setattr(args, k, 0)
                continue
            print(f"lineside demo: {e}", file=sys.stderr)  # (it names the option)
            return EXIT_FAILED
        except OSError as e:
            return _bind_failed(e, args, cfg)


def _bind_failed(e: OSError, args: argparse.Namespace, cfg: LinesideConfig) -> int:
    """One line naming the option whose port could not be bound (bindfail.py)."""
    owners = {args.modbus_port: "--modbus-port", args.opcua_port: "--opcua-port"}
    if cfg.http.enabled:
        owners[parse_listen(cfg.http.listen)[1]] = "--metrics"
    if cfg.station is not None:
        owners[parse_listen(cfg.station.listen)[1]] = "--station"
    line = bind_failure(e, owners)
    if line is None:
        raise e
    print(f"lineside demo: {line}", file=sys.stderr)
    return EXIT_FAILED
