"""DataValue -> Sample: value conversion, quality and timestamp choice."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import uuid
from typing import Any

from asyncua import ua

from lineside.drivers.opcua.quality import quality_of
from lineside.samples import Quality, Sample, Value


def to_value(v: Any) -> Value:
    """Map a Variant's Python value onto the scalar types a Sample carries."""
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, enum.Enum):
        return int(v.value) if isinstance(v.value, int) else str(v.value)
    if isinstance(v, dt.datetime):
        return _epoch(v)
    if isinstance(v, ua.LocalizedText):
        return v.Text
    if isinstance(v, ua.QualifiedName):
        return v.to_string()
    if isinstance(v, ua.NodeId):
        return v.to_string()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, bytes | bytearray):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, list | tuple):
        # arrays have no scalar form: keep them readable and lossless as JSON text
        return json.dumps([to_value(x) for x in v])
    return str(v)


def _epoch(t: dt.datetime) -> float:
    if t.tzinfo is None:  # asyncua returns naive UTC datetimes in some paths
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


_MIN_TS = 946684800.0  # 2000-01-01: earlier timestamps are "not set" (DateTime MinValue)


def sample_from(
    key: str, dv: ua.DataValue, use_source: bool, fallback_ts: float
) -> Sample:
    """One Sample from a DataValue: source (or server) timestamp, quality from status."""
    quality = quality_of(dv.StatusCode)
    value = to_value(dv.Value.Value) if dv.Value is not None else None
    if quality is Quality.BAD:
        value = None  # a bad value is not a value (Part 4 §7.11): never pass it on
    ts = fallback_ts
    first, second = (
        (dv.SourceTimestamp, dv.ServerTimestamp) if use_source
        else (dv.ServerTimestamp, dv.SourceTimestamp)
    )
    for t in (first, second):
        if t is not None:
            e = _epoch(t)
            if e > _MIN_TS:
                ts = e
                break
    return Sample(key, value, quality, ts)


def bad(key: str, ts: float) -> Sample:
    return Sample(key, None, Quality.BAD, ts)
