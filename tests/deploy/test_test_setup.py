"""The test set-up's own rules (tests/fixtures/common.py): a dependency scripts/test
installs is found where its package put it, and when it is missing the test fails in
CI (`CI=true`) instead of skipping silently."""

from __future__ import annotations

import os

import pytest

from tests.fixtures import common


def test_a_package_file_is_found_through_its_file_list() -> None:
    lib = common.require_package_file("libfaketime", "libfaketime.so.1")
    assert os.path.isabs(lib) and os.path.isfile(lib), lib


@pytest.mark.parametrize(("in_ci", "outcome"), [(True, pytest.fail.Exception),
                                                (False, pytest.skip.Exception)])
def test_a_missing_dependency_fails_in_ci_and_skips_elsewhere(
        monkeypatch: pytest.MonkeyPatch, in_ci: bool, outcome: type[BaseException]) -> None:
    monkeypatch.setattr(common, "IN_CI", in_ci)
    with pytest.raises(outcome, match="not installed"):
        common.require_package_file("lineside-no-such-package", "nothing.so")
    with pytest.raises(outcome, match="not installed"):
        common.require_binary("lineside-no-such-program")
