"""The shared pages: the start page, logging in, the language switch, error pages, money on screen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from tests.conftest import Cast


def test_the_start_page_sends_each_role_to_the_case_list(client: Client, cast: Cast) -> None:
    for user in (cast.manager, cast.supervisor, cast.collector_user, cast.compliance):
        client.force_login(user)
        response = client.get(reverse("core:home"))
        assert response.status_code == 302
        assert response["Location"] == reverse("portfolio:case_list")


def test_someone_without_a_role_is_told_to_ask_for_one(client: Client, cast: Cast) -> None:
    client.force_login(cast.outsider)
    response = client.get(reverse("core:home"))

    assert response.status_code == 200
    assert "尚未分配催收岗位角色" in response.content.decode()
    assert reverse("portfolio:case_list") not in response.content.decode()


def test_the_login_page_is_in_chinese_by_default_and_logs_in(client: Client, cast: Cast) -> None:
    page = client.get(reverse("core:login")).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page and "用户名" in page and "密码" in page

    response = client.post(reverse("core:login"), {"username": "manager", "password": "correct-horse-battery"})

    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 302


def test_a_wrong_password_shows_the_error_on_the_login_page(client: Client, cast: Cast) -> None:
    response = client.post(reverse("core:login"), {"username": "manager", "password": "wrong"})

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_the_language_switch_changes_the_page_and_keeps_the_place(client: Client, cast: Cast) -> None:
    client.force_login(cast.manager)
    cases = reverse("portfolio:case_list") + "?bucket=M2"

    response = client.post(reverse("set_language"), {"language": "en", "next": cases})
    assert response["Location"] == cases
    english = client.get(cases).content.decode()
    assert '<html lang="en">' in english
    assert "Cases" in english and "Log out" in english

    client.post(reverse("set_language"), {"language": "zh-hans", "next": cases})
    chinese = client.get(cases).content.decode()
    assert "案件" in chinese and "退出" in chinese and "账龄" in chinese


def test_the_switch_marks_the_current_language(client: Client, cast: Cast) -> None:
    client.force_login(cast.manager)
    page = client.get(reverse("portfolio:case_list")).content.decode()
    assert 'aria-current="true" class="active" lang="zh-hans"' in page


def test_a_page_that_does_not_exist_is_a_translated_404_in_the_layout(client: Client, cast: Cast) -> None:
    client.force_login(cast.collector_user)
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page and 'class="topbar"' in page and "赵催收" in page


def test_a_refusal_is_a_translated_403_in_the_layout(client: Client, cast: Cast) -> None:
    client.force_login(cast.collector_user)
    response = client.get(reverse("portfolio:snapshot_imports"))

    assert response.status_code == 403
    assert "没有权限" in response.content.decode()


def test_pages_carry_no_inline_script_or_style(client: Client, cast: Cast) -> None:
    client.force_login(cast.manager)
    for url in (reverse("portfolio:case_list"), reverse("portfolio:case_detail", args=[cast.own_case.pk])):
        page = client.get(url).content.decode()
        assert "<style" not in page
        assert " style=" not in page
        assert "<script>" not in page
        assert "<script src=" in page


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.5"), "¥1,234.50"),
        (Decimal("0"), "¥0.00"),
        (Decimal("-12.345"), "-¥12.35"),
        (Decimal("12345678901.99"), "¥12,345,678,901.99"),
        ("20.50", "¥20.50"),
        (None, "—"),
    ],
)
def test_money_is_shown_exactly_with_the_yuan_sign(value: object, shown: str) -> None:
    rendered = Template("{% load doorstep %}{{ value|money }}").render(Context({"value": value}))
    assert rendered == shown


def test_money_in_another_currency_uses_its_sign() -> None:
    rendered = Template("{% load doorstep %}{{ value|money:'USD' }}").render(Context({"value": Decimal("5")}))
    assert rendered == "$5.00"
