"""The role of each machine signal, by its name in the configuration (docs/engine.md,
"Signals and roles"), as small ints for the feed loop."""

from __future__ import annotations

from lineside.config.plant import ROLE_SIGNALS

# 0..7 decide the state; R_PV marks a process value (any other signal name).
R_STATE, R_RUNNING, R_FAULT, R_STARVED, R_BLOCKED, R_MODE, R_PROGRAM, R_FAULT_CODE = range(8)
R_AUTO, R_GOOD, R_REJECT, R_TOTAL, R_PRODUCT, R_PV = 8, 9, 10, 11, 12, 13
ROLE = {
    "state": R_STATE, "running": R_RUNNING, "fault": R_FAULT, "starved": R_STARVED,
    "blocked": R_BLOCKED, "mode": R_MODE, "program": R_PROGRAM, "fault_code": R_FAULT_CODE,
    "auto_mode": R_AUTO, "good": R_GOOD, "reject": R_REJECT, "total": R_TOTAL,
    "product": R_PRODUCT,
}
assert set(ROLE) == set(ROLE_SIGNALS)
ROLE_NAMES = sorted(ROLE, key=ROLE.__getitem__)  # by role number
STATE_ROLES = 8  # roles 0..7, in this order in MachineState.state_inputs
