"""The small pure pieces of core: encryption of personal data, masks, money, and ID check characters."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.core import crypto
from doorstep.core.identity import cn_check_character, cn_national_id_problem
from doorstep.core.masking import mask_national_id, mask_phone
from doorstep.core.money import (
    MoneyError,
    format_money,
    from_fen,
    money,
    parse_amount,
    to_fen,
)

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(1, 33))).decode()

# --- encryption and look-up -------------------------------------------------------------------------------


@given(st.text(max_size=200))
def test_what_is_encrypted_decrypts_to_the_same_text(value: str) -> None:
    assert crypto.decrypt_text(crypto.encrypt_text(value)) == value


def test_the_same_value_encrypts_differently_each_time() -> None:
    first, second = crypto.encrypt_text("13812345678"), crypto.encrypt_text("13812345678")
    assert first != second
    assert "13812345678" not in first and "13812345678" not in base64.b64decode(first).decode(errors="ignore")


def test_a_tampered_ciphertext_is_refused() -> None:
    from cryptography.exceptions import InvalidTag

    raw = bytearray(base64.b64decode(crypto.encrypt_text("110101199003071234")))
    raw[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        crypto.decrypt_text(base64.b64encode(bytes(raw)).decode())


def test_an_unknown_key_version_is_refused() -> None:
    raw = bytearray(base64.b64decode(crypto.encrypt_text("x")))
    raw[0] = 0x7F
    with pytest.raises(ValueError, match="key version"):
        crypto.decrypt_text(base64.b64encode(bytes(raw)).decode())


def test_the_lookup_hash_is_stable_trims_and_depends_on_the_key(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = KEY_A
    under_a = crypto.lookup_hash("13812345678")
    assert crypto.lookup_hash(" 13812345678 ") == under_a
    assert crypto.lookup_hash("13812345679") != under_a
    assert crypto.bulk_lookup_hash(["13812345678", "13812345679"])[0] == under_a
    settings.FIELD_ENCRYPTION_KEY = KEY_B
    assert crypto.lookup_hash("13812345678") != under_a


def test_text_encrypted_under_one_key_does_not_open_under_another(settings) -> None:  # type: ignore[no-untyped-def]
    from cryptography.exceptions import InvalidTag

    settings.FIELD_ENCRYPTION_KEY = KEY_A
    token = crypto.encrypt_text("13812345678")
    settings.FIELD_ENCRYPTION_KEY = KEY_B
    with pytest.raises(InvalidTag):
        crypto.decrypt_text(token)
    settings.FIELD_ENCRYPTION_KEY = KEY_A
    assert crypto.decrypt_text(token) == "13812345678"


def test_a_field_key_of_the_wrong_length_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = base64.b64encode(b"too short").decode()
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.encrypt_text("x")


# --- masks ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199003071234", "110101********1234"),
        ("11010119900307123X", "110101********123X"),
        (" 110101199003071234 ", "110101********1234"),
        ("110101900307123", "110101*****7123"),  # the old 15-digit ID
        ("A1234567", "*******7"),
        ("7", "*"),
        ("", ""),
    ],
)
def test_national_id_masks(value: str, masked: str) -> None:
    assert mask_national_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "+86*******5678"),
        ("02887654321", "028****4321"),
        ("87654321", "****4321"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_phone_masks(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@given(st.from_regex(r"\A1[3-9]\d{9}\Z"))
def test_a_masked_mobile_keeps_only_the_first_three_and_last_four_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == 11 and masked[:3] == phone[:3] and masked[-4:] == phone[-4:]
    assert masked[3:7] == "****"


# --- money ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234.5", "1234.50"),
        ("-3.00", "-3.00"),
        (" 7 ", "7.00"),
        ("0.01", "0.01"),
        ("9999999999999.99", "9999999999999.99"),
    ],
)
def test_amounts_parse_exactly(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)
    assert str(parse_amount(text)) == amount


@pytest.mark.parametrize("text", ["1.234", "1,234.00", "1e3", "abc", "", "12.", ".5", "NaN", "¥12"])
def test_anything_else_is_not_an_amount(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text)


def test_floats_are_refused() -> None:
    with pytest.raises(MoneyError):
        money(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("0.005", "0.01"), ("0.004", "0.00"), ("-0.005", "-0.01"), ("2.675", "2.68"), (3, "3.00")],
)
def test_rounding_is_half_up_to_the_fen(value: str | int, rounded: str) -> None:
    assert money(value) == Decimal(rounded)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trip(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=20))
def test_parts_in_fen_add_up_to_the_total_in_yuan(parts: list[int]) -> None:
    amounts = [from_fen(part) for part in parts]
    assert to_fen(sum(amounts, Decimal("0.00"))) == sum(parts)


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("1234567.5"), "CNY", "¥1,234,567.50"),
        (Decimal("-3"), "CNY", "-¥3.00"),
        (Decimal("10"), "USD", "$10.00"),
        (Decimal("10"), "JPY", "JPY 10.00"),
        (None, "CNY", "—"),
    ],
)
def test_money_is_formatted_for_screens(value: Decimal | None, currency: str, shown: str) -> None:
    assert format_money(value, currency) == shown


# --- resident identity numbers ----------------------------------------------------------------------------


def test_the_check_character_of_a_known_id() -> None:
    # 11010519491231002X is the standard's own example.
    assert cn_check_character("11010519491231002") == "X"
    assert cn_national_id_problem("11010519491231002X") is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("110105194912310021", "check character"),
        ("110105194913310029", "birth date"),
        ("11010519491231002x", "17 digits"),
        ("1101051949123100", "17 digits"),
    ],
)
def test_malformed_ids_are_explained(value: str, problem: str) -> None:
    assert problem in (cn_national_id_problem(value) or "")
