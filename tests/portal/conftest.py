"""The portal's cast: 张伟 and 刘洋 each got a link by SMS; the code arrives through the outbox (file backend)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.test import Client

from doorstep.notify import backends
from doorstep.notify.models import Message
from doorstep.portal.links import portal_link
from doorstep.portfolio.models import Borrower

TOKEN_FIELD = re.compile(r'name="portal_token" value="([^"]+)"')
CODE = re.compile(r"(\d{6})")
ZHANG_ID = "510104199003071234"
LIU_ID = "51010419880512567X"


@pytest.fixture(autouse=True)
def _portal_settings(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_NOTIFY_BACKEND = "file"
    settings.DOORSTEP_NOTIFY_OUTBOX_DIR = tmp_path / "outbox"
    settings.DOORSTEP_PORTAL_BASE_URL = "https://portal.example.cn"


def form_token(html: str) -> str:
    found = TOKEN_FIELD.search(html)
    assert found, "the page has no portal form token"
    return found.group(1)


def latest_code(borrower: Borrower) -> str:
    """The code as the borrower's phone received it: the newest one-time-code message in the outbox."""
    message = Message.objects.filter(borrower=borrower, template="portal_code").order_by("-pk").first()
    assert message is not None, "no code was sent"
    path = backends.message_file(message)
    text = path.read_text(encoding="utf-8") if path.exists() else message.body
    body = text.split("\n\n", 1)[-1]
    found = CODE.search(body)
    assert found
    return found.group(1)


@dataclass
class PortalVisitor:
    """A phone that opened a portal link: one test client with the portal's cookie and nothing else."""

    client: Client
    link_path: str
    token: str = ""

    def open(self):  # type: ignore[no-untyped-def]
        response = self.client.get(self.link_path)
        if response.status_code == 302:
            page = self.client.get(response["Location"])
            if page.status_code == 200 and b"portal_token" in page.content:
                self.token = form_token(page.content.decode())
            return page
        return response

    def post(self, path: str, data: dict, **kwargs):  # type: ignore[no-untyped-def]
        response = self.client.post(path, {"portal_token": self.token, **data}, **kwargs)
        return response

    def refresh_token(self, path: str = "/portal/") -> None:
        page = self.client.get(path)
        self.token = form_token(page.content.decode())

    def ask_code(self, id_suffix: str, capture: Callable) -> None:  # type: ignore[type-arg]
        with capture(execute=True):
            response = self.post("/portal/verify/", {"action": "send", "id_suffix": id_suffix})
        assert response.status_code == 302, response.content[:400]

    def enter_code(self, code: str):  # type: ignore[no-untyped-def]
        return self.post("/portal/verify/", {"action": "check", "code": code})

    def sign_in(self, borrower: Borrower, id_suffix: str, capture: Callable) -> None:  # type: ignore[type-arg]
        self.open()
        self.ask_code(id_suffix, capture)
        response = self.enter_code(latest_code(borrower))
        assert response.status_code == 302 and response["Location"] == "/portal/", response.content[:400]
        self.refresh_token()


@pytest.fixture
def zhang(cast) -> Borrower:  # type: ignore[no-untyped-def]
    borrower = cast.own_case.borrower
    from doorstep.core.crypto import encrypt_text, lookup_hash
    from doorstep.core.masking import mask_national_id

    borrower.national_id_encrypted = encrypt_text(ZHANG_ID)
    borrower.national_id_hash = lookup_hash(ZHANG_ID)
    borrower.national_id_masked = mask_national_id(ZHANG_ID)
    borrower.save()
    return borrower


@pytest.fixture
def liu(cast) -> Borrower:  # type: ignore[no-untyped-def]
    borrower = cast.colleagues_case.borrower
    from doorstep.core.crypto import encrypt_text

    borrower.national_id_encrypted = encrypt_text(LIU_ID)
    borrower.save()
    return borrower


def visitor_for(borrower: Borrower, purpose: str = "statement", visit=None) -> PortalVisitor:  # type: ignore[no-untyped-def]
    url = portal_link(borrower=borrower, purpose=purpose, visit=visit)
    parsed = urlparse(url)
    assert parsed.scheme == "https" and parsed.netloc == "portal.example.cn"
    return PortalVisitor(Client(), parsed.path)
