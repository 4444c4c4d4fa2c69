"""The simulated food factory: a seeded model, its ground truth, and real PLC servers.

- `Factory` (factory.py): pure, seeded, steppable model of every machine in a config.
- `Truth`, `TruthWriter`, `load_truth`, `truth_oee` (truth.py): ground truth per
  second and the reference OEE computed from it.
- `SimulatedFactory` (server.py): Modbus TCP and OPC UA servers fed by the model.
"""

from __future__ import annotations

from typing import Any

from lineside.simulator.factory import Factory, TruthRow
from lineside.simulator.truth import Truth, TruthWriter, load_truth, truth_oee

__all__ = ["Factory", "SimulatedFactory", "Truth", "TruthRow", "TruthWriter", "load_truth",
           "truth_oee"]


def __getattr__(name: str) -> Any:
    # The servers pull in pymodbus and asyncua; import them only when asked for.
    if name in ("SimulatedFactory", "with_ports", "demo_config_path"):
        from lineside.simulator import server

        return getattr(server, name)
    raise AttributeError(name)
