"""deploy/install.sh's decisions, each function run on its own (the script is sourced,
commands it would run are shell functions that record and answer): the interpreter it
builds the venv on, the proof that the service user can run the agent, and what a
failing `lineside check` means. `--dry-run` end to end is in test_packaging.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

INSTALL = Path(__file__).resolve().parents[2] / "deploy" / "install.sh"


def bash(script: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    prog = f"set -euo pipefail; source {INSTALL}; {script}"
    return subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=60,
                          cwd=tmp, env={"PATH": "/usr/bin:/bin", **env})


def fake_python(path: Path, minor: int, venv: bool = True) -> None:
    """An interpreter that answers install.sh's two questions."""
    answer = 0 if venv else 1
    path.write_text("#!/bin/sh\n"
                    f'case "$2" in *version_info*) echo {minor};; *) exit {answer};; esac\n')
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("present", "chosen"),
    [
        ({"python3.11": (11, True)}, "python3.11"),
        ({"python3.12": (12, True), "python3.11": (11, True)}, "python3.12"),
        ({"python3.10": (10, True), "python3.11": (11, True)}, "python3.11"),  # Ubuntu 22.04
        ({"python3.12": (12, False), "python3.11": (11, True)}, "python3.11"),  # no venv
        ({"python3.10": (10, True)}, None),  # too old: install.sh installs one
    ],
)
def test_the_venv_interpreter_is_the_distributions(tmp_path, present, chosen) -> None:
    usr_bin = tmp_path / "usr-bin"
    usr_bin.mkdir()
    for name, (minor, venv) in present.items():
        fake_python(usr_bin / name, minor, venv)
    # root's PATH starts with a pyenv shim that would satisfy every question
    shims = tmp_path / "root-pyenv-shims"
    shims.mkdir()
    fake_python(shims / "python3", 12)
    res = bash("find_python", tmp_path, LINESIDE_PY_DIR=str(usr_bin),
               PATH=f"{shims}:/usr/bin:/bin")
    if chosen is None:
        assert res.returncode != 0 and res.stdout == ""
    else:
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == str(usr_bin / chosen)


def test_the_distributions_python3_is_named_by_its_version(tmp_path) -> None:
    """python3 -> python3.11: the venv records the real file."""
    usr_bin = tmp_path / "usr-bin"
    usr_bin.mkdir()
    fake_python(usr_bin / "python3.11", 11)
    (usr_bin / "python3").symlink_to("python3.11")
    res = bash("find_python", tmp_path, LINESIDE_PY_DIR=str(usr_bin))
    assert res.stdout.strip() == str(usr_bin / "python3.11")


# Commands install.sh runs, as functions: each call is logged; runuser answers $RC_<verb>.
STUBS = """
log_call() { printf '%s\\n' "$*" >> calls; }
runuser() { log_call runuser "$@"; shift 3; echo "[$*]" >&2;
            case "$2" in check) return "${RC_CHECK:-0}";; *) return "${RC_VERSION:-0}";; esac; }
systemctl() { log_call systemctl "$@"; }
install() { log_call install "$@"; }
"""


@pytest.mark.parametrize(
    ("rc", "verdict", "enabled"),
    [
        (0, None, True),
        (2, "the configuration /etc/lineside/lineside.yaml is invalid", False),
        (126, "`lineside check` could not run as lineside (exit 126", False),
        (1, "`lineside check` could not run as lineside (exit 1", False),
    ],
    ids=["valid", "invalid", "permission-denied", "crashed"],
)
def test_a_failed_check_is_not_called_an_invalid_config_and_enables_nothing(
        tmp_path, rc, verdict, enabled) -> None:
    res = bash(STUBS + "START=0; install_unit", tmp_path, RC_CHECK=str(rc),
               LINESIDE_SYSTEMD_RUN_DIR=str(tmp_path))
    calls = (tmp_path / "calls").read_text()
    assert "runuser -u lineside -- /opt/lineside/venv/bin/lineside check" in calls
    assert ("systemctl enable" in calls) is enabled, calls
    if verdict is None:
        assert res.returncode == 0, res.stderr
    else:
        assert res.returncode == 1
        assert verdict in res.stderr and "Nothing was enabled" in res.stderr, res.stderr
        if rc != 2:
            assert "invalid" not in res.stderr.replace("not a verdict", "")


def test_the_service_user_must_be_able_to_run_the_agent(tmp_path) -> None:
    ok = bash(STUBS + "prove_service_user", tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "runuser -u lineside -- /opt/lineside/venv/bin/lineside --version" in \
        (tmp_path / "calls").read_text()
    res = bash(STUBS + "prove_service_user", tmp_path, RC_VERSION="126")
    assert res.returncode == 1
    assert "user lineside cannot run /opt/lineside/venv/bin/lineside (exit 126)" in res.stderr
    assert "readable and executable by lineside" in res.stderr


def test_a_venv_built_on_another_interpreter_is_rebuilt(tmp_path) -> None:
    prefix = tmp_path / "opt"
    (prefix / "venv" / "bin").mkdir(parents=True)
    (prefix / "venv" / "bin" / "python").symlink_to("/bin/true")
    (prefix / "venv" / "pyvenv.cfg").write_text("home = /root/.pyenv/versions/3.11.9/bin\n")
    script = (f"PREFIX={prefix}; DRY_RUN=1; PYTHON=/usr/bin/python3.11; SOURCE=/tmp/x.whl; "
              "install_venv")
    res = bash(script, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "was built on /root/.pyenv/versions/3.11.9/bin: rebuilding it on " \
           "/usr/bin/python3.11" in res.stdout
    assert f"/usr/bin/python3.11 -m venv --clear {prefix}/venv" in res.stdout
    # built on the distribution's: kept
    (prefix / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    res = bash(script, tmp_path)
    assert "-m venv" not in res.stdout, res.stdout


def test_files_written_by_deploy_files_need_a_source(tmp_path) -> None:
    """deploy-files output has no pyproject.toml: installing "from the checkout" there
    would fail in pip; say what to pass instead."""
    res = bash("REPO=/nonexistent; DRY_RUN=1; PYTHON=/usr/bin/python3; install_venv", tmp_path)
    assert res.returncode == 1 and "pass --source WHEEL|SPEC" in res.stderr


def test_completion_and_man_page_come_from_the_installed_agent(tmp_path) -> None:
    res = bash("DRY_RUN=1; install_shell_files", tmp_path)
    assert res.returncode == 0, res.stderr
    for cmd, dest in [("completion bash", "bash-completion/completions/lineside"),
                      ("completion zsh", "zsh/site-functions/_lineside"),
                      ("man", "man/man1/lineside.1")]:
        assert f"/opt/lineside/venv/bin/lineside {cmd} > /usr/local/share/{dest}" in res.stdout
