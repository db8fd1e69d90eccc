"""Fixtures for scoring tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scoring_helpers import build_transcript

from callqa.types import Transcript


@pytest.fixture()
def make_transcript() -> Callable[..., Transcript]:
    """``make_transcript([("manager", 0.0, 3.2, "Добрый день...")])`` -> Transcript with word timings."""
    return build_transcript
