"""`lineside run CONFIG`: the agent, until SIGTERM/SIGINT (SIGHUP reloads)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from lineside.cli.bindfail import bind_failure
from lineside.cli.main import EXIT_FAILED, config_exit
from lineside.config.errors import ConfigError
from lineside.config.listen import parse_listen
from lineside.config.loader import load_config
from lineside.i18n import DEFAULT_LOCALE, translator
from lineside.runtime.clock import from_env
from lineside.runtime.hub import Agent, AgentOptions
from lineside.runtime.logs import setup_logging
from lineside.runtime.systemd import Notifier, install_stall_drill


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path, help="YAML configuration file")
    p.add_argument("--duration", type=float, default=None,
                   help="stop after this many seconds (of simulated time with LINESIDE_CLOCK)")
    p.add_argument("--log-format", choices=("text", "json"), default=None,
                   help="override logging.format")
    p.add_argument("--flush-timeout", type=float, default=10.0,
                   help="seconds to drain queues at shutdown (default 10)")


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(e.render(e.locale or DEFAULT_LOCALE), file=sys.stderr)
        return config_exit(e)
    setup_logging(cfg.logging.level, args.log_format or cfg.logging.format)
    try:  # simulated time, for tests and replays (CONTRIBUTING.md, "Simulated time")
        clock = from_env()
    except ValueError as e:
        print(f"lineside run: {e}", file=sys.stderr)
        return EXIT_FAILED
    agent = Agent(cfg, config_path=args.config, clock=clock,
                  options=AgentOptions(flush_timeout_s=args.flush_timeout))
    try:
        asyncio.run(_run(agent, args.duration))
    except OSError as e:
        port = parse_listen(cfg.http.listen)[1]
        # read by the person at the console: the site's language (docs/design.md, Language)
        line = (bind_failure(e, {port: f"http.listen in {args.config}"}, cfg.site.locale)
                or _file_failure(e, cfg.state_dir, args.config, cfg.site.locale))
        if line is None:
            raise
        print(f"lineside run: {line}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _file_failure(exc: OSError, state_dir: Path, config: Path, locale: str = "en"
                  ) -> str | None:
    """One line for a file or folder the agent cannot create or open (its state_dir on
    a missing mount, a read-only disk at start-up, wrong ownership), naming the key."""
    if not exc.filename:
        return None
    name = Path(str(exc.filename))
    t = translator(locale)
    line = (t._("cannot use {path} (under state_dir in {config}): {reason}")
            if name == state_dir or state_dir in name.parents
            else t._("cannot use {path}: {reason}"))
    return line.format(path=name, config=config, reason=exc.strerror or exc)


async def _run(agent: Agent, duration: float | None) -> None:
    install_stall_drill(asyncio.get_running_loop())
    await agent.run_forever(duration, notifier=Notifier())
