"""`lineside schema`: print the JSON Schema of the configuration (config/schema.py)."""

from __future__ import annotations

import argparse
import json

from lineside.config.schema import config_schema


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")


def run(args: argparse.Namespace) -> int:
    print(json.dumps(config_schema(), indent=args.indent, ensure_ascii=False))
    return 0
