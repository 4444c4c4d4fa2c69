"""The report's findings: a kind and its values, worded in any locale.

A `Finding` is a `str` (its English wording: what the JSON carries, what older code
compares) that also remembers its kind and values, so that the table and the HTML can
word it in the reader's language (`text`).
"""

from __future__ import annotations

from typing import Any

from lineside.i18n import Translator, translator


class Finding(str):
    kind: str
    params: dict[str, Any]

    def __new__(cls, kind: str, **params: Any) -> Finding:
        self = super().__new__(cls, _word(translator("en"), kind, params))
        self.kind, self.params = kind, params
        return self


def text(t: Translator, finding: str) -> str:
    """The finding in `t`'s words; a plain string as it is."""
    if isinstance(finding, Finding):
        return _word(t, finding.kind, finding.params)
    return finding


def _word(t: Translator, kind: str, p: dict[str, Any]) -> str:
    match kind:
        case "region":
            return t._("points tagged region {other}; registered {registered}").format(**p)
        case "unregistered":
            return t._("enterprise id '{id}' (region {regions}) is not in the registry: "
                       "{groups} group(s) of points ignored in the district figures"
                       ).format(**p)
        case "untagged":
            return t._("{groups} group(s) of points carry no enterprise tag").format(**p)
        case "of":  # an enterprise's own finding, named
            inner = p["finding"]
            return t._("{id} ({name}): {finding}").format(
                id=p["id"], name=p["name"], finding=text(t, inner))
    raise ValueError(f"unknown finding {kind!r}")
