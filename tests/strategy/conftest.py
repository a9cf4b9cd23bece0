from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _frames_in_a_temporary_directory(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_STRATEGY_FRAMES_DIR = tmp_path / "strategy-frames"


@pytest.fixture(autouse=True)
def _messages_in_english() -> Iterator[None]:
    """Service errors are asserted in English; the zh-Hans catalogue is checked on its own."""
    with translation.override("en"):
        yield
