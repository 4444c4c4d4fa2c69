"""`station:` in the configuration file: checked like every section, with its line."""

from __future__ import annotations

import textwrap

import pytest

from lineside.config.loader import parse_config
from tests.config.test_check import VALID, assert_mistake_named

STATION = VALID + textwrap.dedent("""\
    station:
      listen: 127.0.0.1:8090
      categories:
        - id: mech
          name: 设备故障
          reasons:
            - {id: motor, name: 电机过载, loss: breakdown}
      fault_codes:
        - {code: 12, reason: motor, machines: [dicer-1]}
""")


def test_a_station_section_is_read() -> None:
    st = parse_config(STATION, "ok.yaml").station
    assert st is not None and st.reason("motor") is not None
    assert st.fault_codes[0].machines == ["dicer-1"]
    assert parse_config(VALID, "ok.yaml").station is None  # off by default


@pytest.mark.parametrize(("case", "old", "new", "path", "at", "words"), [
    ("fault code of an unknown machine", "machines: [dicer-1]", "machines: [dicer-9]",
     "station.fault_codes[0].machines[0]", "dicer-9", "unknown machine 'dicer-9'"),
    ("fault code of an unknown reason", "reason: motor,", "reason: motr,",
     "station", "station:", "unknown reason 'motr'"),
    ("a loss that is not one of the six", "loss: breakdown", "loss: coffee",
     "station.categories[0].reasons[0].loss", "coffee", "breakdown"),
    ("plain HTTP off loopback", "listen: 127.0.0.1:8090", "listen: 0.0.0.0:8090",
     "station", "station:", "not a loopback address"),
])
def test_each_station_mistake_is_named(case: str, old: str, new: str, path: str, at: str,
                                       words: str) -> None:
    assert_mistake_named(STATION, case, old, new, path, at, words)


def test_tls_lets_the_station_listen_on_the_plant_network() -> None:
    text = STATION.replace("listen: 127.0.0.1:8090",
                           "listen: 0.0.0.0:8443\n  tls_cert: c.pem\n  tls_key: k.pem")
    st = parse_config(text, "ok.yaml").station
    assert st is not None and st.tls_cert is not None and st.tls_cert.name == "c.pem"
