"""The wheel is the release: built by `python -m build` (sdist, then the wheel from the
sdist, as a release is made), installed in a fresh virtualenv, it writes out every file
of the repository's deploy/, config/ and docs/ trees, byte for byte and with the same
executable bits, and carries its licence and metadata.

`--no-deps`: the dependencies are not under test here and come from PyPI; the packaged
files and the entry point need none of them.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(argv, **kw) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=240, **kw)
    assert res.returncode == 0, f"{argv}\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    [whl] = out.glob("lineside-*.whl")
    assert list(out.glob("lineside-*.tar.gz")), "no sdist"
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
    return venv


def repository_files() -> dict[str, bool]:
    """Tracked files of deploy/, config/ and docs/ -> executable in git."""
    res = run(["git", "-C", str(ROOT), "ls-files", "-s", "--", "deploy", "config", "docs"])
    out = {}
    for line in res.stdout.splitlines():
        meta, path = line.split("\t", 1)
        out[path] = meta.split()[0] == "100755"
    assert {"deploy/systemd/lineside.service", "config/example.yaml", "docs/deploy.md"} <= set(out)
    return out


def test_the_installed_wheel_writes_every_deploy_file(installed, tmp_path) -> None:
    dest = tmp_path / "gateway"
    env = {**os.environ, "PATH": f"{installed / 'bin'}:{os.environ['PATH']}"}
    # run from elsewhere so that nothing can come from this checkout
    res = run([str(installed / "bin" / "lineside"), "deploy-files", str(dest)], env=env,
              cwd=tmp_path)
    wanted = repository_files()
    written = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    assert written == set(wanted)
    for rel, executable in wanted.items():
        assert (dest / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
        assert os.access(dest / rel, os.X_OK) == executable, rel
    assert f"{len(wanted)} written" in res.stderr
    # again: nothing to do; an edited file is kept, and --force restores it
    assert "0 written" in run([str(installed / "bin" / "lineside"), "deploy-files",
                               str(dest)], cwd=tmp_path).stderr
    unit = dest / "deploy" / "systemd" / "lineside.service"
    unit.write_text(unit.read_text() + "# local edit\n")
    res = subprocess.run([str(installed / "bin" / "lineside"), "deploy-files", str(dest)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 1 and "kept" in res.stderr and str(unit) in res.stderr
    assert unit.read_text().endswith("# local edit\n")
    run([str(installed / "bin" / "lineside"), "deploy-files", "--force", str(dest)],
        cwd=tmp_path)
    assert unit.read_bytes() == (ROOT / "deploy/systemd/lineside.service").read_bytes()


def test_licence_and_metadata(wheel) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        [meta_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(z.read(meta_name))
        [licence] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert z.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License" in (ROOT / "LICENSE").read_bytes()[:200]
    assert meta["License-Expression"] == "Apache-2.0"
    classifiers = meta.get_all("Classifier")
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers
    # no invented addresses: the project has no public home page to name
    assert meta.get_all("Project-URL") is None and meta["Home-page"] is None


def test_the_wheel_carries_the_message_catalogs(wheel) -> None:
    """lineside/i18n.py compiles the .po at first use: the wheel ships it as it is."""
    rel = "lineside/locale/zh_CN/LC_MESSAGES/lineside.po"
    with zipfile.ZipFile(wheel) as z:
        assert z.read(rel) == (ROOT / rel).read_bytes()
        meta = email.message_from_bytes(z.read(next(
            n for n in z.namelist() if n.endswith(".dist-info/METADATA"))))
    assert any(r.startswith("babel") for r in meta.get_all("Requires-Dist"))


def test_the_image_build_stage_has_what_the_wheel_needs(tmp_path) -> None:
    """deploy/Dockerfile builds the wheel from what its build stage COPYs (and the
    .dockerignore lets in): exactly those files must build, package data included."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    build_stage = dockerfile.split("\nFROM ", 2)[1]
    allowed = [ln[1:].rstrip("/") for ln in
               (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
               if ln.startswith("!")]
    ctx = tmp_path / "src"
    ctx.mkdir()
    for line in build_stage.splitlines():
        if not line.startswith("COPY ") or "--from" in line:
            continue
        *sources, _ = line.split()[1:]
        for src in sources:
            assert src in allowed, f"{src} is COPYed but .dockerignore keeps it out"
            path = ROOT / src
            if path.is_dir():
                files = run(["git", "-C", str(ROOT), "ls-files", "--", src]).stdout.split()
                for rel in files:
                    (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
                    (ctx / rel).write_bytes((ROOT / rel).read_bytes())
            else:
                (ctx / src).write_bytes(path.read_bytes())
    out = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ctx)])
    [whl] = out.glob("*.whl")
    with zipfile.ZipFile(whl) as z:
        assert "lineside/_data/deploy/systemd/lineside.service" in z.namelist()
