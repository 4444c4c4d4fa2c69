"""Every folder of tests/cases replayed through the engine and compared (tests/cases/README.md).

A folder holds `config.yaml`, `samples.jsonl` (the sample log of docs/engine.md),
`expected.lp` (hand-checked points) and `README` (what the case shows). The samples go
through `replay`, the path of `lineside replay`; the expected file is never rewritten
here: its figures are worked out by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from lineside.config.loader import load_config
from lineside.engine.core import EngineStats
from lineside.engine.replay import replay
from lineside.points import FieldValue, Point
from lineside.samplelog import read_samples

CASES = Path(__file__).resolve().parents[1] / "cases"
FOLDERS = sorted(p for p in CASES.iterdir() if p.is_dir())
STATS = "engine_stats"  # expected.lp measurement compared with EngineStats
FLOAT_TOL = 1e-6  # hand figures are written with six decimals at least


@dataclass
class Expected:
    lineno: int
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    ts_ns: int | None
    absent: tuple[str, ...] = ()


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes (tag values here hold no escapes)."""
    out, cur, quoted = [], [], False
    for c in text:
        if c == '"':
            quoted = not quoted
        if c == sep and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    out.append("".join(cur))
    return out


def _value(text: str, where: str) -> FieldValue:
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if text.endswith("i"):
        return int(text[:-1])
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: field value {text!r} is not line protocol") from None


def parse_expected(path: Path) -> list[Expected]:
    """Point lines; `#! absent f1,f2` names fields the point above must not have."""
    out: list[Expected] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        where = f"{path}:{lineno}"
        if line.startswith("#! absent "):
            if not out:
                raise ValueError(f"{where}: '#! absent' before any point")
            out[-1].absent += tuple(line.split(None, 2)[2].split(","))
            continue
        if not line or line.startswith("#"):
            continue
        parts = _split(line, " ")
        if len(parts) not in (2, 3):
            raise ValueError(f"{where}: expected 'measurement,tags fields [timestamp]'")
        series, *tag_kv = parts[0].split(",")
        try:
            tags = dict(kv.split("=", 1) for kv in tag_kv)
            fields = {k: _value(v, where)
                      for k, v in (kv.split("=", 1) for kv in _split(parts[1], ","))}
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        out.append(Expected(lineno, series, tags, fields,
                            int(parts[2]) if len(parts) == 3 else None))
    return out


def _same(want: FieldValue, got: FieldValue) -> bool:
    if type(want) is not type(got):  # 3000i is not 3000.0: InfluxDB types a field once
        return False
    if isinstance(want, float):
        return abs(want - got) <= FLOAT_TOL  # type: ignore[operator]
    return want == got


def check(folder: Path) -> None:
    cfg = load_config(folder / "config.yaml")
    stats = EngineStats()
    points: list[Point] = list(replay(cfg, read_samples(folder / "samples.jsonl"),
                                      stats=stats))
    expected = parse_expected(folder / "expected.lp")
    assert expected, f"{folder.name}: expected.lp has no point"
    for e in expected:
        where = f"{folder.name}/expected.lp:{e.lineno}"
        if e.measurement == STATS:
            got_stats = asdict(stats)
            for k, v in e.fields.items():
                assert k in got_stats, f"{where}: no engine statistic {k!r}"
                assert got_stats[k] == v, f"{where}: {k} is {got_stats[k]}, expected {v}"
            continue
        hits = [p for p in points if p.measurement == e.measurement
                and all(p.tags.get(k) == v for k, v in e.tags.items())
                and (e.ts_ns is None or p.ts_ns == e.ts_ns)]
        assert len(hits) == 1, f"{where}: {len(hits)} points match, expected exactly one"
        got = hits[0].fields
        for k, v in e.fields.items():
            assert k in got, f"{where}: field {k} missing"
            assert _same(v, got[k]), f"{where}: {k}={got[k]!r}, expected {v!r}"
        for k in e.absent:
            assert k not in got, f"{where}: {k} should be absent, got {got[k]!r}"


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_case_folder(folder: Path) -> None:
    for name in ("config.yaml", "samples.jsonl", "expected.lp", "README"):
        assert (folder / name).is_file(), f"{folder.name}: {name} missing"
    readme = (folder / "README").read_text(encoding="utf-8").strip()
    assert readme and "\n" not in readme, f"{folder.name}/README: one line, please"
    check(folder)


def test_a_wrong_figure_fails(tmp_path: Path) -> None:
    # The comparison itself can fail: one figure off by 1 in a copy of a case.
    src = FOLDERS[0]
    for name in ("config.yaml", "samples.jsonl", "README"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    lines = (src / "expected.lp").read_text(encoding="utf-8").splitlines()
    i = next(i for i, ln in enumerate(lines) if ln and not ln.startswith("#"))
    e = parse_expected(src / "expected.lp")[0]
    k, v = next((k, v) for k, v in e.fields.items() if isinstance(v, int | float)
                and not isinstance(v, bool))
    bad = f"{v + 1}i" if isinstance(v, int) else repr(v + 1)
    lines[i] = lines[i].replace(f"{k}={_lp(v)}", f"{k}={bad}", 1)
    assert lines[i] != (src / "expected.lp").read_text(encoding="utf-8").splitlines()[i]
    (tmp_path / "expected.lp").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=k):
        check(tmp_path)


def _lp(v: int | float) -> str:
    if isinstance(v, int):
        return f"{v}i"
    s = repr(v)
    return s[:-2] if s.endswith(".0") else s
