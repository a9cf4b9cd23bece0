from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.utils import translation

from doorstep.collectors.models import Certificate, Collector
from doorstep.compliance import services as compliance_services


@pytest.fixture(autouse=True)
def _fresh_gate_caches() -> None:
    compliance_services.caches_clear()


@pytest.fixture(autouse=True)
def _messages_in_english() -> Iterator[None]:
    """Service errors are matched by their English text; the site's own default language is Chinese."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _attachments_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_VAR_DIR = tmp_path


def certify(collector: Collector) -> None:
    for kind in ("pre_job", "annual"):
        Certificate.objects.create(
            collector=collector, kind=kind, number=f"{kind}-{collector.pk}", issued_on=dt.date(2026, 1, 5),
            expires_on=dt.date(2027, 12, 31),
        )


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Stop the clock at `at` for the code under test (it reads `django.utils.timezone.now`)."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield
