"""The bureau report's data: registry, period, input rows and report dataclasses.

Everything here is plain data. `aggregate.build_report` turns rows (sums over a period,
as the InfluxQL layer returns them) into a `Report`; the renderers turn a `Report` into
text, CSV, JSON or HTML. No I/O happens in this module.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lineside.textfiles import FileEncodingError, FileTooLarge, read_text

#: Stage kinds in process order (docs/design.md / config `StageKind`).
STAGE_KINDS: tuple[str, ...] = (
    "cleaning", "thawing", "cutting", "peeling", "dehairing", "mixing", "frying", "heating",
    "packaging", "other",
)

DEFAULT_TARGET = 0.60


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class Registered:
    """An enterprise registered with the bureau."""

    id: str
    name: str
    region: str


class RegistryError(ValueError):
    pass


# a district's registry is a few thousand rows; a bigger file is not one
MAX_REGISTRY_BYTES = 16 << 20


def parse_registry(text: str, fmt: str) -> list[Registered]:
    """Parse a registry: `csv` (header id,name,region) or `yaml` (list of mappings,
    or a mapping with an `enterprises` list)."""
    rows: list[Mapping[str, object]]
    if fmt == "csv":
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as e:
            raise RegistryError(f"registry: invalid CSV: {e}") from None
    elif fmt in ("yaml", "yml", "json"):
        import yaml

        try:
            data = yaml.safe_load(text) or []
        except yaml.YAMLError as e:
            raise RegistryError(f"registry: invalid YAML: {e}") from None
        if isinstance(data, dict):
            data = data.get("enterprises", [])
        if not isinstance(data, list):
            raise RegistryError("registry: expected a list of {id, name, region}")
        rows = data
    else:
        raise RegistryError(f"registry: unknown format {fmt!r} (csv or yaml)")
    out: list[Registered] = []
    seen: set[str] = set()
    for i, r in enumerate(rows, 1):
        if not isinstance(r, Mapping):
            raise RegistryError(f"registry entry {i}: expected a mapping")
        missing = [k for k in ("id", "name", "region") if not str(r.get(k) or "").strip()]
        if missing:
            raise RegistryError(f"registry entry {i}: missing {', '.join(missing)}")
        eid = str(r["id"]).strip()
        if eid in seen:
            raise RegistryError(f"registry entry {i}: enterprise id {eid!r} listed twice")
        seen.add(eid)
        out.append(Registered(eid, str(r["name"]).strip(), str(r["region"]).strip()))
    return out


def load_registry(path: Path) -> list[Registered]:
    """The registry file (UTF-8 with or without BOM, as Excel saves "CSV UTF-8").

    textfiles.FileUnreadable (an OSError) when missing or unreadable; RegistryError when
    it is in another encoding or not a valid registry.
    """
    return parse_registry(*_read_registry(path))


def _read_registry(path: Path) -> tuple[str, str]:
    """(text, format) of a registry file; the errors of load_registry."""
    fmt = path.suffix.lstrip(".").lower() or "yaml"
    try:
        return read_text(path, MAX_REGISTRY_BYTES), fmt
    except (FileEncodingError, FileTooLarge) as e:
        raise RegistryError(str(e).removeprefix(f"{path}: ")) from None


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """The bureau's own settings beside its enterprises (a YAML registry only): the zone
    its days, weeks and months are drawn in and the language of its report."""

    timezone: str | None = None
    locale: str | None = None


def registry_settings(text: str, fmt: str) -> RegistrySettings:
    if fmt not in ("yaml", "yml", "json"):
        return RegistrySettings()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import yaml

    from lineside.i18n import LOCALES

    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError as e:
        raise RegistryError(f"registry: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        return RegistrySettings()
    tz, loc = data.get("timezone"), data.get("locale")
    if tz is not None:
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: name too long
            raise RegistryError(f"registry: unknown IANA timezone {tz!r} "
                                "(e.g. Asia/Shanghai)") from None
    if loc is not None and loc not in LOCALES:
        raise RegistryError(f"registry: unknown locale {loc!r} ({', '.join(LOCALES)})")
    return RegistrySettings(None if tz is None else str(tz), loc)


def load_registry_settings(path: Path) -> RegistrySettings:
    return registry_settings(*_read_registry(path))


# --------------------------------------------------------------------------- period


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval [start, end) in UTC, with the kind it was built from."""

    kind: str  # day | week | month | custom
    start: dt.datetime
    end: dt.datetime
    tz: str = "UTC"  # the zone the period's boundaries were drawn in

    @property
    def label(self) -> str:
        from zoneinfo import ZoneInfo

        z = ZoneInfo(self.tz)
        s, e = self.start.astimezone(z), self.end.astimezone(z)
        if self.kind == "day":
            return f"{s:%Y-%m-%d}"
        if self.kind == "week":
            y, w, _ = s.date().isocalendar()
            return f"{y}-W{w:02d}"
        if self.kind == "month":
            return f"{s:%Y-%m}"
        return f"{s:%Y-%m-%d %H:%M} – {e:%Y-%m-%d %H:%M}"


# --------------------------------------------------------------------------- input rows


@dataclass(frozen=True, slots=True)
class Row:
    """One group of an InfluxQL answer: tag values and the summed/counted fields.

    `values` use the names of the fields summed (`run_s`, `auto_run_s`, ...), plus
    `<field>_n` for counts where a mean is needed (`digitized_n`, `target_n`) and
    `<field>_sum` for the sums those means divide (`digitized_sum`, `target_sum`).
    """

    measurement: str  # automation | oee
    tags: Mapping[str, str]
    values: Mapping[str, float | None]

    def v(self, key: str) -> float:
        x = self.values.get(key)
        return float(x) if x is not None else 0.0

    def has(self, key: str) -> bool:
        return self.values.get(key) is not None


# --------------------------------------------------------------------------- report


@dataclass(frozen=True, slots=True)
class KindFigures:
    kind: str
    auto_run: float  # Σ auto_run_s of the kind's stages (seconds, for reading)
    run: float  # Σ run_s of the kind's stages
    rate: float | None  # the enterprise rule over the kind's stages only
    previous_rate: float | None = None

    @property
    def trend(self) -> float | None:
        if self.rate is None or self.previous_rate is None:
            return None
        return self.rate - self.previous_rate


@dataclass(frozen=True, slots=True)
class LineFigures:
    line: str
    rate: float | None
    planned_busy_s: float
    kinds: tuple[str, ...]
    site: str = ""


# What the bureau gets of an enterprise's CCPs, per CCP kind (sums of `ccp_bureau`).
CCP_SUMS = ("deviations", "deviation_s", "losses", "lost_s")
# Its safety supervision per CCP kind (`haccp_bureau`): levels, the latest of the period.
SAFETY_LEVELS = ("unanswered_24h", "lots_on_hold")


@dataclass(frozen=True, slots=True)
class EnterpriseFigures:
    id: str
    name: str
    region: str
    status: str  # reporting | no_production | missing | unregistered
    automation_rate: float | None = None
    digitized: float | None = None
    oee: float | None = None
    planned_busy_s: float = 0.0
    good_count: float = 0.0
    run_s: float = 0.0
    auto_run_s: float = 0.0
    kinds: Mapping[str, KindFigures] = field(default_factory=dict)
    lines: tuple[LineFigures, ...] = ()
    previous_rate: float | None = None
    previous_oee: float | None = None
    meets_target: bool | None = None
    flags: tuple[str, ...] = ()
    # CCP kind -> (deviations, deviation_s, losses, lost_s); empty without CCP records
    ccp: Mapping[str, tuple[float, float, float, float]] = field(default_factory=dict)
    # CCP kind -> (unanswered_24h, lots_on_hold) at the period's end (the latest
    # `haccp_bureau` point of each site in the period, summed); empty without any
    safety: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def trend(self) -> float | None:
        if self.automation_rate is None or self.previous_rate is None:
            return None
        return self.automation_rate - self.previous_rate

    def ccp_total(self, i: int) -> float | None:
        """Sum over CCP kinds of item i (0 deviations, 1 deviation_s, 2 losses, 3 lost_s)."""
        return sum(v[i] for v in self.ccp.values()) if self.ccp else None

    def safety_total(self, i: int) -> float | None:
        """Sum over CCP kinds of level i (0 unanswered after 24 h, 1 lots on hold)."""
        return sum(v[i] for v in self.safety.values()) if self.safety else None

    def ccp_kinds(self) -> list[str]:
        """CCP kinds with deviation sums or safety levels, sorted."""
        return sorted({*self.ccp, *self.safety})


@dataclass(frozen=True, slots=True)
class HoldBack:
    """A stage kind and how much it holds enterprises back."""

    kind: str
    below_target: tuple[str, ...]  # enterprises whose rate for this kind is below target
    weakest_of: tuple[str, ...]  # enterprises below target whose weakest kind it is
    mean_rate: float | None  # mean of the enterprises' rates for this kind


@dataclass(frozen=True, slots=True)
class DistrictFigures:
    registered: int
    reporting: int  # with an automation rate
    missing: int
    mean_rate: float | None
    weighted_rate: float | None  # weighted by output (good_count)
    meeting: int
    share_meeting: float | None  # meeting / reporting
    mean_oee: float | None
    previous_mean_rate: float | None
    hold_backs: tuple[HoldBack, ...]

    @property
    def trend(self) -> float | None:
        if self.mean_rate is None or self.previous_mean_rate is None:
            return None
        return self.mean_rate - self.previous_mean_rate


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    previous: Period
    target: float
    enterprises: tuple[EnterpriseFigures, ...]
    district: DistrictFigures
    flags: tuple[str, ...]  # report-wide findings (unregistered ids, region mismatches)
    generated_at: dt.datetime
    source: str = ""

    def kinds_present(self) -> tuple[str, ...]:
        seen = {k for e in self.enterprises for k in e.kinds}
        return tuple(k for k in STAGE_KINDS if k in seen) + tuple(
            sorted(seen - set(STAGE_KINDS)))
