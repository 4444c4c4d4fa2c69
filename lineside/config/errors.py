"""Config errors that name the key path, the YAML line and column, and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    path: str  # dotted key path, list indexes in brackets: lines[0].stages[1].kind
    line: int | None  # 1-based
    column: int | None  # 1-based
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}" if self.line else "(no position)"
        return f"{self.path or '<root>'} ({where}): {self.message}"


class ConfigError(Exception):
    """Every problem found in one configuration file."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = sorted(issues, key=lambda i: (i.line or 0, i.column or 0, i.path))
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.issues)
        head = f"{self.source}: {n} error{'s' if n != 1 else ''}"
        return "\n".join([head, *(f"  {self.source}:{i.line or '?'}:{i.column or '?'} "
                                  f"{i.path or '<root>'}: {i.message}" for i in self.issues)])
