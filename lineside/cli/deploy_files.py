"""`lineside deploy-files DIR`: write out what a gateway needs beside the code.

The wheel carries the repository's `deploy/` tree (systemd unit, install script, Grafana
dashboards and provisioning, Prometheus configuration and alert rules, InfluxDB set-up,
container files), `config/` (example and demo configurations) and `docs/` as package
data. This
command writes them under DIR with the repository's relative paths and file modes, so a
gateway installed from the wheel alone (no git checkout) gets them, byte for byte.

An existing file that differs is kept unless `--force`: a folder the user edited is not
silently overwritten. Identical files are left as they are (running it again is safe).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

TREES = ("deploy", "config", "docs")
_JUNK = ("__pycache__", ".pyc", ".pyo")


def bundled_root() -> Path:
    """The folder holding deploy/, config/ and docs/: the package's data, or a checkout."""
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "_data"
    checkout = here.parents[2]
    if all((packaged / t).is_dir() for t in TREES):
        return packaged
    if (checkout / "pyproject.toml").is_file() and all((checkout / t).is_dir() for t in TREES):
        return checkout
    raise FileNotFoundError(f"{', '.join(TREES)} are neither packaged (lineside/_data) nor "
                            "in a source checkout: reinstall lineside from its wheel")


def bundled_files(root: Path | None = None) -> Iterator[Path]:
    """Relative paths of every shipped file, sorted."""
    root = root or bundled_root()
    found: list[Path] = []
    for tree in TREES:
        for path in (root / tree).rglob("*"):
            rel = path.relative_to(root)
            if path.is_file() and not any(p == _JUNK[0] or p.endswith(_JUNK[1:])
                                          for p in rel.parts):
                found.append(rel)
    yield from sorted(found)


def write_files(dest: Path, force: bool = False, root: Path | None = None
                ) -> tuple[list[Path], list[Path], list[Path]]:
    """Copy every file under dest; (written, unchanged, kept because they differ)."""
    root = root or bundled_root()
    written: list[Path] = []
    unchanged: list[Path] = []
    kept: list[Path] = []
    for rel in bundled_files(root):
        src, out = root / rel, dest / rel
        data = src.read_bytes()
        mode = stat.S_IMODE(src.stat().st_mode) | 0o644  # readable, as in the repository
        if out.is_file() and out.read_bytes() == data:
            unchanged.append(rel)
            continue
        if out.exists() and not force:
            kept.append(rel)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, mode & 0o755)
        os.replace(tmp, out)
        written.append(rel)
    return written, unchanged, kept


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dest", type=Path, nargs="?",
                   help="folder to write into (created if missing)")
    p.add_argument("--force", action="store_true",
                   help="overwrite files that differ from the packaged ones")
    p.add_argument("--list", action="store_true", help="only list the packaged files")


def run(args: argparse.Namespace) -> int:
    try:
        root = bundled_root()
    except FileNotFoundError as e:
        print(f"lineside deploy-files: {e}", file=sys.stderr)
        return 1
    if args.list:
        for rel in bundled_files(root):
            print(rel)
        return 0
    if args.dest is None:
        print("lineside deploy-files: give the folder to write into (or --list)",
              file=sys.stderr)
        return 2
    try:
        written, unchanged, kept = write_files(args.dest, force=args.force, root=root)
    except OSError as e:
        print(f"lineside deploy-files: cannot write {e.filename}: {e.strerror}",
              file=sys.stderr)
        return 1
    for rel in written:
        print(args.dest / rel)
    print(f"{args.dest}: {len(written)} written, {len(unchanged)} unchanged, "
          f"{len(kept)} kept", file=sys.stderr)
    if kept:
        print("these differ from the packaged files and were kept (--force overwrites):\n"
              + "\n".join(f"  {args.dest / rel}" for rel in kept), file=sys.stderr)
        return 1
    return 0
