"""The project's own drivers read the simulator: their decoders vs our encoder.

The simulator encodes registers independently of the Modbus driver, so agreement here
cross-checks every layout of the demo plant (types, byte orders, addressing, bits).
"""

from __future__ import annotations

import asyncio
import logging
import math

import pytest
import pytest_asyncio

from lineside.config.models import LinesideConfig
from lineside.drivers.modbus.build import build_modbus_drivers
from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.runtime.wiring import signals_by_device
from lineside.simulator.server import SimulatedFactory
from tests.fixtures.common import free_port

logging.getLogger("asyncua").setLevel(logging.ERROR)
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _same(got: object, want: object, spec: object) -> bool:
    if isinstance(want, (bool, str)):
        return got == want
    if isinstance(want, float) and math.isnan(want):  # a scripted CCP sensor drop-out
        return isinstance(got, float) and math.isnan(got)
    scale = getattr(spec, "scale", 1.0)
    tol = max(scale / 2 + 1e-9, 1e-4 * max(1.0, abs(float(want))))  # type: ignore[arg-type]
    return abs(float(got) - float(want)) <= tol  # type: ignore[arg-type]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim(demo_cfg: LinesideConfig):
    async with SimulatedFactory(demo_cfg, seed=21, modbus_port=free_port(),
                                opcua_port=free_port(), update_s=3600.0) as s:
        await asyncio.sleep(0.05)
        yield s


async def test_modbus_driver_reads_the_model_values(sim) -> None:
    values = sim.factory.values()
    refs = signals_by_device(sim.config)
    drivers = build_modbus_drivers(sim.config.devices, refs)
    assert len(drivers) == 4
    n = 0
    try:
        for d in drivers:
            samples = await d.poll()
            for s in samples:
                spec = next(r.spec for r in refs[d.device_id] if r.key == s.signal)
                assert s.good, (s, d.stats.last_error)
                assert _same(s.value, values[s.signal], spec), (s, values[s.signal])
                n += 1
    finally:
        for d in drivers:
            await d.close()
    assert n >= 140


async def test_opcua_driver_reads_the_model_values(sim, tmp_path_factory) -> None:
    values = sim.factory.values()
    dev = next(d for d in sim.config.devices if d.type == "opcua")
    drv = OpcuaDriver(dev, signals_by_device(sim.config)[dev.id],
                            tmp_path_factory.mktemp("opc"))
    try:
        samples = await drv.poll()
    finally:
        await drv.close()
    assert len(samples) == len(signals_by_device(sim.config)[dev.id]) >= 15
    for s in samples:
        assert s.good and _same(s.value, values[s.signal], None), (s, values[s.signal])
