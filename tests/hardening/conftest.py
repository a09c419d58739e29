"""Shared fixtures for the hardening suite: the bad-input corpus is generated once per test
session into a temporary folder (some kinds are huge once decoded; none is committed)."""
from pathlib import Path

import pytest

from tools.make_bad_inputs import TYPED_SAMPLE, make_all


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    return make_all(tmp_path_factory.mktemp("bad_inputs"))


@pytest.fixture(scope="session")
def typed_sample() -> Path:
    return TYPED_SAMPLE
