"""Completion (bash, zsh) and the man page, generated from the argparse parser.

Bash: the generated function is called the way bash calls it (COMP_WORDS, COMP_CWORD)
and what it proposes is compared. Zsh: a real interactive zsh in a pseudo-terminal
(zsh/zpty) gets a TAB and its listing is read back. Man: groff with all warnings on
renders it silently, and every command and option of the parser is on the page.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lineside.cli.completion import bash_script, zsh_script
from lineside.cli.man import man_page
from lineside.cli.spec import lineside_spec
from tests.fixtures.common import require_binary

TOP, SUBS = lineside_spec()


def lineside(*argv: str) -> str:
    res = subprocess.run([sys.executable, "-m", "lineside.cli", *argv],
                         capture_output=True, text=True, timeout=60, check=True)
    return res.stdout


def test_the_commands_print_what_the_generators_make() -> None:
    assert lineside("completion", "bash") == bash_script(TOP, SUBS)
    assert lineside("completion", "zsh") == zsh_script(TOP, SUBS)
    assert lineside("man") == man_page(TOP, SUBS)


def bash_complete(tmp_path: Path, line: str) -> list[str]:
    """What `lineside <line><TAB>` proposes (the words typed so far, the last one partial)."""
    script = tmp_path / "lineside.bash"
    script.write_text(bash_script(TOP, SUBS))
    words = line.split(" ")
    prog = (f"source {script}; COMP_WORDS=(lineside {' '.join(repr(w) for w in words)}); "
            f"COMP_CWORD={len(words)}; _lineside; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    res = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=30,
                         cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return sorted(w for w in res.stdout.splitlines() if w)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ch", ["check"]),
        ("re", ["replay", "report"]),
        ("--v", ["--version"]),
        ("run --log-format ", ["json", "text"]),
        ("completion ", ["bash", "zsh"]),
        ("check --p", ["--print"]),
        ("report --period ", ["custom", "day", "month", "week"]),
        ("check pl", ["plant.yaml"]),              # a file where a file is expected
        ("export --config pl", ["plant.yaml"]),
        ("run --duration ", []),                    # a number: nothing to propose
    ],
)
def test_bash_completion(tmp_path, line, expected) -> None:
    (tmp_path / "plant.yaml").write_text("")
    assert bash_complete(tmp_path, line) == expected


def test_bash_offers_every_command_and_option() -> None:
    script = bash_script(TOP, SUBS)
    for cmd in SUBS:
        assert f"    {cmd.name})" in script
        for opt in cmd.options:
            assert all(f in script for f in opt.flags), (cmd.name, opt.flags)


ZPTY = r"""
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="%% "; fpath=({dir} $fpath); autoload -Uz compinit; compinit -u -D'
zpty -w -n z $'lineside {line}\t'
out=""
# until everything expected was shown after the TAB, or 10 s (a loaded machine)
for i in {{1..50}}; do
  sleep 0.2; chunk=""; zpty -r -t z chunk && out+=$chunk
  done=1
  for want in {shown}; do [[ ${{out#*compinit -u -D}} == *$want* ]] || done=0; done
  (( done )) && break
done
print -r -- "$out"
zpty -d z
"""


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("run --log-format ", ["json", "text"]),
        ("completion ", ["bash", "zsh"]),
        ("deploy-f", ["lineside deploy-files"]),  # the one match is inserted
    ],
)
def test_zsh_completion(tmp_path, line, shown) -> None:
    zsh = require_binary("zsh")
    (tmp_path / "_lineside").write_text(zsh_script(TOP, SUBS))
    wanted = " ".join(shlex.quote(w) for w in shown)
    res = subprocess.run([zsh, "-f", "-c", ZPTY.format(dir=tmp_path, line=line, shown=wanted)],
                         capture_output=True, text=True, timeout=30)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\r]", "", res.stdout)
    after = screen.split("compinit -u -D", 1)[-1]
    assert all(s in after for s in shown), after


def test_zsh_script_is_valid_zsh(tmp_path) -> None:
    zsh = require_binary("zsh")
    path = tmp_path / "_lineside"
    path.write_text(zsh_script(TOP, SUBS))
    res = subprocess.run([zsh, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr


def test_man_page_renders_cleanly_and_covers_the_parser(tmp_path) -> None:
    groff = require_binary("groff")
    page = tmp_path / "lineside.1"
    page.write_text(man_page(TOP, SUBS))
    res = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-P", "-cbou", str(page)],
                         capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    assert res.returncode == 0 and res.stderr == "", res.stderr
    text = res.stdout
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "ENVIRONMENT", "FILES", "EXIT STATUS"):
        assert re.search(rf"^{section}$", text, re.M), section
    for cmd in SUBS:
        assert re.search(rf"^ +{re.escape(cmd.name)}$", text, re.M), cmd.name
        for opt in cmd.options:
            if opt.flags != ("-h", "--help"):  # said once, in DESCRIPTION
                assert all(f in text for f in opt.flags), (cmd.name, opt.flags)
    assert "NOTIFY_SOCKET" in text and "/etc/lineside/lineside.yaml" in text
