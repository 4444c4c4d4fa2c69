"""`lineside trust`: fetch a server's certificate, show it, and put it on the trust list.

    lineside trust CONFIG --device fryer-plc           # endpoint and trust dir from CONFIG
    lineside trust --endpoint opc.tcp://plc:4840 --trust-dir /var/lib/lineside/pki/trusted
    lineside trust ... --show                          # only print it
    lineside trust ... --thumbprint 1a2b...            # trust only this exact certificate
    lineside trust ... --yes                           # no question (scripts)

The certificate is fetched with GetEndpoints over an unsecured channel (no session, no
credentials: the very step a client must take before it can trust anything). Compare
the thumbprint with the one the server's administrator sees before answering yes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from lineside.config.loader import load_config
from lineside.drivers.opcua.security import describe, file_name_for, load_cert, thumbprint
from lineside.drivers.opcua.servercert import fetch_certificates
from lineside.drivers.opcua.settings import OpcuaDevice

DEFAULT_STATE = Path("/var/lib/lineside")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", type=Path,
                   help="lineside YAML; with --device, endpoint and trust dir come from it")
    p.add_argument("--device", help="id of an OPC UA device in CONFIG")
    p.add_argument("--endpoint", help="opc.tcp://host:port[/path] (instead of CONFIG/--device)")
    p.add_argument("--trust-dir", type=Path,
                   help="where trusted server certificates live "
                        f"(default: <state_dir>/pki/trusted, state_dir {DEFAULT_STATE})")
    p.add_argument("--show", action="store_true", help="only show the certificate(s)")
    p.add_argument("--thumbprint", help="trust only a certificate with this SHA-1 thumbprint")
    p.add_argument("--yes", action="store_true", help="trust without asking")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")


def _from_config(args: argparse.Namespace) -> tuple[str, Path]:
    cfg = load_config(args.config)
    devices = [d for d in cfg.devices if isinstance(d, OpcuaDevice)]
    if args.device:
        devices = [d for d in devices if d.id == args.device]
    if len(devices) != 1:
        ids = ", ".join(d.id for d in cfg.devices if isinstance(d, OpcuaDevice)) or "none"
        raise SystemExit(f"name one OPC UA device with --device (OPC UA devices: {ids})")
    dev = devices[0]
    trust_dir = args.trust_dir or dev.trust_dir or Path(cfg.state_dir) / "pki" / "trusted"
    return dev.endpoint, trust_dir


def run(args: argparse.Namespace) -> int:
    if args.endpoint:
        endpoint = args.endpoint
        trust_dir = args.trust_dir or DEFAULT_STATE / "pki" / "trusted"
    elif args.config:
        try:
            endpoint, trust_dir = _from_config(args)
        except SystemExit as exc:
            print(exc, file=sys.stderr)
            return 2
        except Exception as exc:  # ConfigError lists every problem with its YAML line
            print(f"{args.config}: {exc}", file=sys.stderr)
            return 2
    else:
        print("give CONFIG --device ID, or --endpoint", file=sys.stderr)
        return 2
    try:
        certs = asyncio.run(fetch_certificates(endpoint, args.timeout))
    except Exception as exc:  # any failure: say which endpoint and why
        print(f"cannot fetch the certificate of {endpoint}: {exc!r}", file=sys.stderr)
        return 1
    if not certs:
        print(f"{endpoint} offers no certificate (only SecurityPolicy None?)", file=sys.stderr)
        return 1
    status = 0
    now = dt.datetime.now(dt.UTC)
    for der in certs:
        print(f"{endpoint}: {describe(der, now)}")
        target = Path(trust_dir) / file_name_for(der)
        cert = load_cert(der)
        if cert.not_valid_after_utc < now:
            print("  it has expired: the driver refuses it even when trusted; the server "
                  "needs a new certificate", file=sys.stderr)
        elif cert.not_valid_before_utc > now:
            print(f"  it is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC "
                  "(this gateway's clock or the server's is wrong): the driver refuses it "
                  "until then", file=sys.stderr)
        if args.show:
            continue
        if args.thumbprint and args.thumbprint.lower().replace(":", "") != thumbprint(der):
            print(f"  thumbprint differs from --thumbprint {args.thumbprint}: NOT trusted",
                  file=sys.stderr)
            status = 1
            continue
        if target.exists():
            print(f"  already trusted: {target}")
            continue
        if not (args.yes or args.thumbprint):
            if not sys.stdin.isatty():
                print("  not trusted: confirm with --yes or --thumbprint when not interactive",
                      file=sys.stderr)
                status = 1
                continue
            if input("  trust this certificate? [y/N] ").strip().lower() not in ("y", "yes"):
                status = 1
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(der)
        print(f"  trusted: {target}")
    return status
