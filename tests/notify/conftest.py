"""Notify's tests render their own small templates, kept beside the tests."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

TEMPLATES_DIR = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def _notify_test_templates(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [TEMPLATES_DIR, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    settings.DOORSTEP_NOTIFY_OUTBOX_DIR = tmp_path / "outbox"
    settings.DOORSTEP_NOTIFY_BACKEND = "file"
