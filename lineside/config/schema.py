"""The JSON Schema of the configuration file, for editors (`lineside schema` prints it).

Generated from the same pydantic models that validate the file, so it cannot drift. For
yaml-language-server (VS Code's YAML extension, Neovim, Helix) save it and put
`# yaml-language-server: $schema=lineside.schema.json` on the first line of the file.
The schema checks shapes and types; `lineside check` remains the judge (it also checks
references between sections, addresses and calendars). Any number, boolean, enumerated
or patterned value may also be written as `${VAR}` (substituted when the file is loaded).
"""

from __future__ import annotations

from typing import Any

from lineside import __version__
from lineside.config.models import LinesideConfig

DIALECT = "https://json-schema.org/draft/2020-12/schema"


# A value written as `${VAR}` / `${VAR:-default}` is substituted at load (envsubst.py):
# the editor sees the text as written, so every typed or constrained scalar accepts it.
SUBSTITUTED = {"type": "string", "pattern": r"\$\{"}
_SCALARS = {"string", "integer", "number", "boolean"}
_KEEP_OUTSIDE = ("title", "description", "default", "examples")


def config_schema() -> dict[str, Any]:
    schema = _allow_substitution(LinesideConfig.model_json_schema(mode="validation"))
    return {"$schema": DIALECT, "title": f"lineside {__version__} configuration",
            **{k: v for k, v in schema.items() if k != "title"}}


def _allow_substitution(node: Any) -> Any:
    if isinstance(node, list):
        return [_allow_substitution(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("properties", "$defs") else _allow_substitution(v))
           for k, v in node.items()}
    for key in ("properties", "$defs"):
        if isinstance(node.get(key), dict):
            out[key] = {name: _allow_substitution(sub) for name, sub in node[key].items()}
    constrained = ("const" in node or "enum" in node
                   or (node.get("type") in _SCALARS
                       and not (node["type"] == "string" and node.keys() <= {
                           "type", *_KEEP_OUTSIDE})))
    if not constrained:
        return out
    inner = {k: v for k, v in out.items() if k not in _KEEP_OUTSIDE}
    return {**{k: out[k] for k in _KEEP_OUTSIDE if k in out},
            "anyOf": [inner, SUBSTITUTED]}
