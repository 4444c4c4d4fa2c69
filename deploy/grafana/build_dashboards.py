"""Generate the provisioned Grafana dashboards (deploy/grafana/dashboards/*.json).

    python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    python deploy/grafana/build_dashboards.py --check  # exit 1 if they are out of date
    python deploy/grafana/build_dashboards.py --config plant.yaml --out DIR

The boards are built with grafana-foundation-sdk's builders (Grafana Labs' typed models
of the dashboard schema; `pip install -e '.[test]'` brings the pinned build) in
deploy/grafana/boards/, one module per board. The committed JSON files are built from
config/demo.yaml (what the compose stack runs); `--config` builds a plant's own: its
automation target in titles and thresholds, its CCPs' units, state names in its locale.

The rules every query follows (tests/deploy checks them against InfluxDB 1.6):

- ratios over any time range are ratios of SUMMED bucket fields, e.g. OEE =
  sum(ideal_good_s) / sum(counted_planned_busy_s) — never a mean of per-bucket ratios;
- a ratio whose summed denominator is 0 is absent, not 0: InfluxQL answers x/0 with 0,
  so every ratio is `SELECT n/d FROM (SELECT sum(..) AS n, sum(..) AS d ...) WHERE d > 0`;
- automation rates are rebuilt from the stage-level `automation` sums by the rules of
  docs/design.md ("Rebuilding the figures"), one nested subquery per level
  (lineside.report.influxql, shared with the bureau's board);
- site figures are sums over the line-level points, never the site-level ones: a plant
  split across several agents has one site-level series per agent (tag `gateway`);
- every query of the `oee`/`oee_shift` measurements pins `level`, so an "All" selection
  never mixes machines, stages, lines and the site;
- rows and legends are grouped by the ids, plus the tag the `names` variable selects
  (the name beside the id, or the id again), so a figure is one id's;
- no fixed datasource: every board has a datasource variable (default: the provisioned
  one) that every panel, query and variable refers to;
- a machine named in a row of the plant board links to the machine board.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the boards package beside this script

from boards.agent import agent_health  # noqa: E402
from boards.bureau import bureau_board  # noqa: E402
from boards.ccp import ccp_board  # noqa: E402
from boards.machine import machine_drilldown  # noqa: E402
from boards.plant import plant_overview  # noqa: E402
from boards.site import BoardSite, from_config  # noqa: E402
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402

OUT = HERE / "dashboards"
DEMO = HERE.parents[1] / "config" / "demo.yaml"


def render(site: BoardSite) -> dict[str, str]:
    boards = {"plant-overview.json": plant_overview(site),
              "machine.json": machine_drilldown(site), "agent-health.json": agent_health(),
              "ccp.json": ccp_board(site), "bureau.json": bureau_board(site)}
    return {name: json.dumps(b.build(), cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"
            for name, b in boards.items()}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="build lineside's Grafana dashboards")
    ap.add_argument("--config", type=Path, default=DEMO,
                    help="plant configuration (default: config/demo.yaml)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the JSON files")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when the files in --out differ from what would be written")
    args = ap.parse_args(argv)
    out = render(from_config(args.config))
    if args.check:
        stale = [n for n, text in out.items()
                 if not (args.out / n).exists() or (args.out / n).read_text() != text]
        if stale:
            print("out of date (run deploy/grafana/build_dashboards.py):", *stale)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in out.items():
        (args.out / name).write_text(text)
        print("wrote", args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
