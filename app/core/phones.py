"""Phone numbers in one form: E.164, with China as the default region.

``+86 138 0013 8000``, ``138-0013-8000`` and ``008613800138000`` are one number.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneMetadata

from app.core.errors import InvalidInput

DEFAULT_REGION = "CN"


class InvalidPhone(ValueError):
    pass


def _mobile_pattern(region: str) -> re.Pattern[str]:
    metadata = PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    assert metadata.mobile is not None
    pattern = metadata.mobile.national_number_pattern
    assert isinstance(pattern, str)
    return re.compile(pattern)


# A mainland mobile number, by phonenumbers' own metadata for China. Such a number starts with
# 13-19, which China's national prefix for parsing (0, or a carrier code 11xx, 12xx, 179xx)
# never matches, so phonenumbers keeps all eleven digits and finds the number valid
# (tests/test_phones.py checks the two agree).
_CN_MOBILE = _mobile_pattern(DEFAULT_REGION)

# Spaces and hyphens group digits (138 0013 8000, 138-0013-8000); a full parse drops them too.
_GROUPING = str.maketrans("", "", " -")


def normalise_phone(raw: str) -> str:
    """The E.164 form of ``raw`` (``+8613800138000``); ``InvalidPhone`` if it is no number."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]  # the international prefix dialled from China
    compact = text.translate(_GROUPING)
    national = compact[3:] if compact.startswith("+86") else compact
    if len(national) == 11 and national.isascii() and _CN_MOBILE.fullmatch(national):
        # Most numbers heard or typed here: what a full parse concludes, at a tenth of its cost.
        return "+86" + national
    return _parsed_e164(text)


def _parsed_e164(text: str) -> str:
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_digits(e164: str) -> str:
    """The digits a person in China would dial (``13800138000``), for masking and reading."""
    if e164.startswith("+86"):
        # China's national numbers never start with 0, so they are the rest of the E.164
        # form (phonenumbers would parse the whole number again to say the same).
        return e164[3:]
    parsed = phonenumbers.parse(e164, DEFAULT_REGION)
    return str(parsed.national_number)


def normalise_field(raw: str, field: str) -> str:
    """:func:`normalise_phone` for a request field: an invalid number is a 422 naming it."""
    try:
        return normalise_phone(raw)
    except InvalidPhone as exc:
        raise InvalidInput(f"{field} is not a valid phone number.", field=field) from exc
