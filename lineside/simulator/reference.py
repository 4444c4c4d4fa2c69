"""`python -m lineside.simulator.reference TRUTH.csv`: the reference OEE per machine.

Reads a truth file written by `lineside simulate --truth` and prints what `truth_oee`
makes of it over the whole file (or --start/--end, epoch seconds), to compare with what
the agent reports for the same period.
"""

from __future__ import annotations

from pathlib import Path

from lineside.simulator.truth import load_truth, truth_oee


def main(argv: list[str] | None = None) -> int:
    """Print the reference OEE of a truth file."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m lineside.simulator.reference",
                                description="reference OEE from a simulator truth file")
    p.add_argument("truth", type=Path)
    p.add_argument("--config", type=Path, default=None, help="default: the demo plant")
    p.add_argument("--start", type=float, default=None, help="epoch seconds (default: first)")
    p.add_argument("--end", type=float, default=None, help="epoch seconds (default: last)")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    args = p.parse_args(argv)
    from lineside.config.loader import load_config
    from lineside.simulator.server import demo_config_path

    cfg = load_config(args.config or demo_config_path())
    truth = load_truth(args.truth)
    if truth.t0 is None:
        print("empty truth file")
        return 1
    start = truth.t0 if args.start is None else args.start
    end = truth.t0 + truth.n - 1 if args.end is None else args.end
    res = truth_oee(truth, cfg, start, end)
    if args.json:
        print(json.dumps({"start": start, "end": end, "machines": res}, indent=2))
        return 0

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    print(f"reference OEE over [{start:.0f}, {end:.0f}) = {end - start:.0f} s")
    print(f"{'machine':12s} {'A':>7s} {'P':>7s} {'Q':>7s} {'OEE':>7s} {'auto':>7s} "
          f"{'good':>8s} {'reject':>7s}")
    for mid, r in res.items():
        print(f"{mid:12s} {pct(r['availability']):>7s} {pct(r['performance']):>7s} "
              f"{pct(r['quality']):>7s} {pct(r['oee']):>7s} {pct(r['automation_rate']):>7s} "
              f"{r['good']:>8d} {r['reject']:>7d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
