"""What `lineside check` says about a line's output stage (docs/design.md, OEE, Upward).

A line's OEE is its output stage's (`output_stage`, else the last stage with machines),
and its planned busy time weighs the line in the site's OEE and in the site and
enterprise automation rates. Each row edits the valid file of test_check and says what
check answers: an error where the engine could compute nothing for the line and a
stage with machines exists, a warning where the figures rest on nothing, and silence
where the engine computes the figures as they are (manual equipment counts like any).
"""

from __future__ import annotations

import pytest

from lineside.config.errors import ConfigError, ConfigIssue
from lineside.config.loader import parse_config
from tests.config.test_check import VALID, line_of

OUT = "    output_stage: cutting  # where the units are counted: the line's OEE\n"
HAND_STAGE = ("    stages:\n"
              "      - {id: trimming, kind: cutting, manual: true}\n")
HAND_LINE = ("  - id: tripe\n"
             "    stages:\n"
             "      - {id: washing, kind: cleaning, manual: true}\n")

# (case, [(old, new), ...], severity, path, text on its line, words in the message)
ROWS = [
    ("output_stage naming a stage done by hand",
     [(OUT, "    output_stage: trimming\n"), ("    stages:\n", HAND_STAGE)],
     "error", "lines[0].output_stage", "output_stage: trimming", "is done by hand"),
    ("output_stage naming a stage of another line",
     [(OUT, "    output_stage: washing\n"), ("sinks:\n", HAND_LINE + "sinks:\n")],
     "error", "lines[0].output_stage", "output_stage: washing", "unknown stage 'washing'"),
    ("the default output stage counts no units, another stage does",
     [(OUT, "")],
     "warning", "lines[0]", "- id: beef", "stage 'packing' (the last one with machines)"),
    ("output_stage naming a stage without counters, another stage has them",
     [(OUT, "    output_stage: packing\n")],
     "warning", "lines[0].output_stage", "output_stage: packing", "stages ['cutting']"),
    ("a line without machines",
     [("sinks:\n", HAND_LINE + "sinks:\n")],
     "warning", "lines[1]", "- id: tripe", "absent from the site and enterprise figures"),
    # the engine counts a manual machine's units like any: its line's OEE stands
    ("an output stage of manual equipment with a counter",
     [("automation: automatic\n            ideal_rate: 60",
       "automation: manual\n            ideal_rate: 60")],
     None, "", "", ""),
    # no stage counts units: the line has availability only, which is no mistake of
    # its output stage
    ("no stage of the line counts units",
     [("\n              good: {address: 2, type: uint32}", "")],
     None, "", "", ""),
]


def edited(edits: list[tuple[str, str]]) -> str:
    text = VALID
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def check(text: str) -> tuple[list[ConfigIssue], list[ConfigIssue]]:
    """(errors, warnings) of a file."""
    warnings: list[ConfigIssue] = []
    try:
        parse_config(text, "plant.yaml", warnings=warnings)
    except ConfigError as e:
        return e.issues, []
    return [], warnings


@pytest.mark.parametrize(("case", "edits", "severity", "path", "at", "words"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_output_stage(case: str, edits: list[tuple[str, str]], severity: str | None,
                      path: str, at: str, words: str) -> None:
    text = edited(edits)
    errors, warnings = check(text)
    if severity is None:
        assert (errors, warnings) == ([], []), case
        return
    found = [i for i in (errors if severity == "error" else warnings) if i.path == path]
    assert found, f"{case}: no {severity} at {path}; got {errors or warnings}"
    assert any(i.line == line_of(text, at) for i in found), found
    assert any(words in i.message for i in found), found


def test_the_error_names_the_stages_that_can_be_the_output() -> None:
    errors, _ = check(edited(ROWS[0][1]))
    [msg] = [i.message for i in errors]
    assert "name a stage with machines (['cutting', 'packing'])" in msg
    assert "or remove `output_stage` for the last one ('packing')" in msg
