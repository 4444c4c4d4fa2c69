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
        #: the file's own `site.locale` when it parsed that far (loader.py), else None
        self.locale: str | None = None
        super().__init__(self.render("en"))  # the exception's text: logs, tracebacks

    def render(self, locale: str = "en") -> str:
        """For a person: messages in `locale` (config/messages.py); the file name, key
        paths and line:column as written."""
        from lineside.i18n import translator

        t = translator(locale)
        n = len(self.issues)
        head = t.ngettext("{source}: {n} error", "{source}: {n} errors", n).format(
            source=self.source, n=n)
        return "\n".join([head, *(self._line(i, locale) for i in self.issues)])

    def _line(self, i: ConfigIssue, locale: str) -> str:
        from lineside.config.messages import localized

        message = localized(i.message, locale)
        if i.line is None and not i.path:  # about the file itself: unreadable, encoding
            return f"  {self.source}: {message}"
        return (f"  {self.source}:{i.line or '?'}:{i.column or '?'} {i.path or '<root>'}: "
                f"{message}")


class ConfigUnreadable(ConfigError):
    """The file is missing or cannot be read: not a verdict on a configuration
    (`lineside check` exits 66, not 2; docs/design.md, Command line)."""
