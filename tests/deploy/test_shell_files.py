"""Completion (bash, zsh; shtab) and the man page (argparse-manpage), generated from the
argparse parser.

Bash: the generated function (the one `complete -F` names) is called the way bash calls
it (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT) and what it proposes is compared.
Zsh: a real interactive zsh in a pseudo-terminal (zsh/zpty) gets a TAB and its listing is
read back. Man: groff with all warnings on renders it silently, and every command and
option of the parser is in that command's section of the page.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lineside.cli.completion import script
from lineside.cli.main import build_parser
from lineside.cli.man import man_page
from tests.fixtures.common import require_binary


def _commands() -> dict[str, list[argparse.Action]]:
    """Every sub-command of the parser with its options (help left out)."""
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    return {name: [a for a in p._actions if a.option_strings and a.dest != "help"]
            for name, p in sub.choices.items()}


COMMANDS = _commands()


def lineside(*argv: str) -> str:
    res = subprocess.run([sys.executable, "-m", "lineside.cli", *argv],
                         capture_output=True, text=True, timeout=60, check=True)
    return res.stdout


def test_the_commands_print_what_the_generators_make() -> None:
    assert lineside("completion", "bash") == script("bash")
    assert lineside("completion", "zsh") == script("zsh")
    assert lineside("man") == man_page()


def bash_complete(tmp_path: Path, line: str) -> list[str]:
    """What `lineside <line><TAB>` proposes (the words typed so far, the last one partial)."""
    text = script("bash")
    func = re.search(r"^complete .*-F (\S+) lineside$", text, re.M)
    assert func, "no `complete -F FUNCTION lineside` line"
    path = tmp_path / "lineside.bash"
    path.write_text(text)
    words = line.split(" ")
    prog = (f"source {path}; COMP_WORDS=(lineside {' '.join(shlex.quote(w) for w in words)}); "
            f"COMP_CWORD={len(words)}; COMP_LINE={shlex.quote('lineside ' + line)}; "
            f"COMP_POINT=${{#COMP_LINE}}; {func[1]} lineside; "
            "printf '%s\\n' \"${COMPREPLY[@]}\"")
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


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bash_offers_every_command_and_option(tmp_path, command) -> None:
    assert bash_complete(tmp_path, command[:-1]) == [command]
    flags = sorted(f for a in COMMANDS[command] for f in a.option_strings if f.startswith("--"))
    offered = bash_complete(tmp_path, f"{command} --")
    assert set(flags) <= set(offered), (command, set(flags) - set(offered))


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
    (tmp_path / "_lineside").write_text(script("zsh"))
    wanted = " ".join(shlex.quote(w) for w in shown)
    res = subprocess.run([zsh, "-f", "-c", ZPTY.format(dir=tmp_path, line=line, shown=wanted)],
                         capture_output=True, text=True, timeout=30)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\r]", "", res.stdout)
    after = screen.split("compinit -u -D", 1)[-1]
    assert all(s in after for s in shown), after


def test_zsh_script_is_valid_zsh(tmp_path) -> None:
    zsh = require_binary("zsh")
    path = tmp_path / "_lineside"
    path.write_text(script("zsh"))
    res = subprocess.run([zsh, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr


def test_man_page_renders_cleanly_and_covers_the_parser(tmp_path) -> None:
    groff = require_binary("groff")
    page = tmp_path / "lineside.1"
    page.write_text(man_page())
    res = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-P", "-cbou", str(page)],
                         capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    assert res.returncode == 0 and res.stderr == "", res.stderr
    text = res.stdout
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES", "EXIT STATUS"):
        assert re.search(rf"^{section}$", text, re.M), section
    for name, options in COMMANDS.items():
        # each command has its own section, its options listed in it
        head = re.search(rf"^COMMAND 'lineside {re.escape(name)}'$", text, re.M)
        assert head, name
        nxt = re.search(r"^COMMAND '", text[head.end():], re.M)
        body = text[head.end():head.end() + nxt.start()] if nxt else text[head.end():]
        for opt in options:
            assert all(f in body for f in opt.option_strings), (name, opt.option_strings)
    assert "NOTIFY_SOCKET" in text and "/etc/lineside/lineside.yaml" in text
