"""The main menu. Each app that has pages adds its own entries in its `nav.py`:

    def nav_items(request: HttpRequest) -> list[NavItem]: ...

returning only the entries the requesting user may open. Apps appear in INSTALLED_APPS order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.http import HttpRequest
from django.utils.functional import Promise


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url: str


NavProvider = Callable[[HttpRequest], list[NavItem]]


@cache
def _providers() -> tuple[NavProvider, ...]:
    found = []
    for config in apps.get_app_configs():
        if config.name.startswith("doorstep.") and find_spec(f"{config.name}.nav") is not None:
            found.append(import_module(f"{config.name}.nav").nav_items)
    return tuple(found)


def nav_items(request: HttpRequest) -> list[NavItem]:
    if not request.user.is_authenticated:
        return []
    return [item for provider in _providers() for item in provider(request)]
