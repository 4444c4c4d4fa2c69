"""The fields of a configuration class, for the code that walks the models generically
(the reference, the secret names, the resolution of relative paths, the bounds test).

A configuration class is a pydantic model, or a pydantic dataclass: the signals are
slotted dataclasses (lineside/drivers/base.py `signal_spec`), the most numerous objects of
a configuration.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo


def config_fields(t: Any) -> dict[str, FieldInfo] | None:
    """The fields of a configuration class by name; None for anything else."""
    if not isinstance(t, type):
        return None
    if issubclass(t, BaseModel):
        return t.model_fields
    fields = getattr(t, "__pydantic_fields__", None)
    return fields if fields is not None and dataclasses.is_dataclass(t) else None
