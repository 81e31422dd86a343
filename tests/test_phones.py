"""Phone numbers: every accepted form is one E.164 number, and the digits shown for a Chinese
number (taken from the E.164 form without parsing it again) are what phonenumbers says."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.core.phones import InvalidPhone, national_digits, normalise_phone

# Mobile (1xx), Beijing and Shanghai landlines (10, 21) and a three-digit area code (755).
_CN_NATIONAL = st.one_of(
    st.from_regex(r"\A1[3-9][0-9]{9}\Z"),
    st.from_regex(r"\A(10|21)[2-8][0-9]{7}\Z"),
    st.from_regex(r"\A755[2-8][0-9]{7}\Z"),
)


@given(_CN_NATIONAL)
def test_national_digits_of_a_chinese_number_agree_with_phonenumbers(national: str) -> None:
    try:
        e164 = normalise_phone(national)
    except InvalidPhone:
        assume(False)
        raise
    expected = str(phonenumbers.parse(e164, "CN").national_number)
    assert national_digits(e164) == expected


@given(
    _CN_NATIONAL,
    st.sampled_from(["", "+86", "0086", "+86 ", "86"]),
    st.sampled_from(["", "-", " "]),
)
def test_every_written_form_is_one_number(national: str, prefix: str, separator: str) -> None:
    try:
        e164 = normalise_phone(national)
    except InvalidPhone:
        assume(False)
        raise
    written = prefix + separator.join([national[:3], national[3:7], national[7:]])
    assert normalise_phone(written) == e164
    assert national_digits(e164) == national


def _full_parse(raw: str) -> str:
    text = raw.strip()
    text = "+" + text[2:] if text.startswith("00") else text
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(parsed):
        return "invalid"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@given(
    st.sampled_from(["", "+86", "0086", " ", "+86 ", "+86-", "0086 ", "+ 86", "0 086"]),
    # Every eleven-digit string from 1: the mobile shortcut's ground, valid or not.
    st.from_regex(r"\A1[0-9]{10}\Z"),
    # Where spaces and hyphens group the digits (138 0013 8000, 138-0013-8000, or anywhere).
    st.lists(st.tuples(st.integers(0, 11), st.sampled_from([" ", "-", "  ", " - "])), max_size=4),
)
def test_the_mobile_shortcut_agrees_with_a_full_parse(
    prefix: str, digits: str, grouping: list[tuple[int, str]]
) -> None:
    for position, separator in sorted(grouping, reverse=True):
        digits = digits[:position] + separator + digits[position:]
    raw = prefix + digits
    try:
        ours = normalise_phone(raw)
    except InvalidPhone:
        ours = "invalid"
    assert ours == _full_parse(raw)


def test_a_foreign_number_keeps_its_own_national_digits() -> None:
    assert national_digits(normalise_phone("+44 20 7946 0958")) == "2079460958"


@pytest.mark.parametrize("raw", ["12345", "abc", "+86 000 0000 0000"])
def test_no_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)
