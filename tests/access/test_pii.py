"""Personal data helpers: masks, field encryption and rotation, lookup hashes, log redaction."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import example, given
from hypothesis import strategies as st

from app.access.pii import FieldCipher, lookup_hash, mask_id_number, mask_name, mask_phone
from app.core.redaction import redact

digits = st.text(alphabet="0123456789", min_size=1, max_size=20)
mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
id_numbers = st.from_regex(r"\A[1-9][0-9]{16}[0-9X]\Z")
purposes = st.sampled_from(["phone", "id_number", "email", "policy_no"])
FAILS = (InvalidTag, ValueError)


def _key() -> bytes:
    return os.urandom(32)


# --- masks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "value", "masked"),
    [
        (mask_phone, "13800138000", "138****8000"),
        (mask_phone, "138-0013-8000", "138****8000"),
        (mask_id_number, "110101199003071234", "1****************4"),
        (mask_id_number, "11010119900307123X", "1****************X"),
        (mask_name, "张三", "张*"),
        (mask_name, "王小明", "王**"),
        (mask_name, "欧阳娜娜", "欧***"),
        (mask_name, "  张三 ", "张*"),
        (mask_name, "", ""),
    ],
)
def test_mask_examples(mask: Callable[[str], str], value: str, masked: str) -> None:
    assert mask(value) == masked


@given(mobiles, st.text(alphabet="0123456789", min_size=4, max_size=4))
def test_a_masked_mobile_never_shows_its_middle_digits(mobile: str, other_middle: str) -> None:
    masked = mask_phone(mobile)
    assert masked == mobile[:3] + "****" + mobile[7:]
    # Whatever the middle digits were, the mask is the same: it carries nothing of them.
    assert mask_phone(mobile[:3] + other_middle + mobile[7:]) == masked


@given(digits.filter(lambda d: len(d) >= 7))
@example("1234567")  # a 7-digit local number: 3 + 4 shown would be all of it
@example("62345678")  # an 8-digit local number (Beijing, Shanghai)
def test_a_masked_phone_hides_at_least_four_digits(phone: str) -> None:
    masked = mask_phone(phone)
    shown = sum(c.isdigit() for c in masked)
    assert shown <= len(phone) - 4
    assert "*" in masked


@given(st.text(min_size=3, max_size=40))
def test_id_mask_keeps_length_and_hides_the_middle(value: str) -> None:
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    assert masked[0] == value[0]
    assert masked[-1] == value[-1]
    assert set(masked[1:-1]) == {"*"}


@given(st.text(max_size=2))
def test_short_ids_are_fully_hidden(value: str) -> None:
    assert mask_id_number(value) == "*" * len(value)


# --- field encryption -------------------------------------------------------------------------


@given(st.text(), purposes)
def test_cipher_round_trips_any_text(plaintext: str, purpose: str) -> None:
    cipher = FieldCipher((("k1", _key()),))
    token = cipher.encrypt(plaintext, purpose=purpose)
    assert cipher.decrypt(token, purpose=purpose) == plaintext
    if len(plaintext) >= 4:
        assert plaintext not in token


def test_equal_plaintexts_encrypt_differently() -> None:
    cipher = FieldCipher((("k1", _key()),))
    first = cipher.encrypt("13800138000", purpose="phone")
    assert first != cipher.encrypt("13800138000", purpose="phone")  # a fresh nonce each time


@given(st.text(), st.lists(purposes, min_size=2, max_size=2, unique=True))
def test_decrypting_for_another_purpose_fails(plaintext: str, pair: list[str]) -> None:
    sealed, opened = pair
    cipher = FieldCipher((("k1", _key()),))
    token = cipher.encrypt(plaintext, purpose=sealed)
    with pytest.raises(FAILS):
        cipher.decrypt(token, purpose=opened)


@given(st.text(), st.data())
def test_a_tampered_token_fails(plaintext: str, data: st.DataObject) -> None:
    cipher = FieldCipher((("k1", _key()),))
    version, key_id, payload = cipher.encrypt(plaintext, purpose="phone").split(":", 2)
    raw = bytearray(base64.urlsafe_b64decode(payload))
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="byte")
    raw[position] ^= data.draw(st.integers(min_value=1, max_value=255), label="flip")
    tampered = f"{version}:{key_id}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(FAILS):
        cipher.decrypt(tampered, purpose="phone")


def test_unknown_key_or_format_fails() -> None:
    cipher = FieldCipher((("k1", _key()),))
    token = cipher.encrypt("13800138000", purpose="phone")
    stranger = FieldCipher((("k1", _key()),))
    for broken in (token.replace(":k1:", ":k9:"), "v0" + token[2:], "garbage"):
        with pytest.raises(FAILS):
            cipher.decrypt(broken, purpose="phone")
    with pytest.raises(FAILS):
        stranger.decrypt(token, purpose="phone")  # same key id, different key


@given(st.text(), purposes)
def test_after_rotation_old_tokens_decrypt_and_new_ones_use_the_new_key(
    plaintext: str, purpose: str
) -> None:
    old_key, new_key = _key(), _key()
    before = FieldCipher((("2025", old_key),))
    old_token = before.encrypt(plaintext, purpose=purpose)

    after = FieldCipher((("2026", new_key), ("2025", old_key)))
    assert after.current_key_id == "2026"
    assert after.decrypt(old_token, purpose=purpose) == plaintext
    assert after.needs_rotation(old_token)
    new_token = after.encrypt(plaintext, purpose=purpose)
    assert new_token.split(":")[1] == "2026"
    assert not after.needs_rotation(new_token)
    assert after.decrypt(new_token, purpose=purpose) == plaintext
    with pytest.raises(FAILS):
        before.decrypt(new_token, purpose=purpose)  # the new key is really used


@given(st.text(), purposes, purposes)
def test_lookup_hash_is_deterministic_and_differs_by_purpose(
    value: str, purpose: str, other: str
) -> None:
    key = b"k" * 32
    digest = lookup_hash(key, value, purpose=purpose)
    assert digest == lookup_hash(key, value, purpose=purpose)
    assert len(digest) == 64
    assert (digest == lookup_hash(key, value, purpose=other)) is (purpose == other)
    assert digest != lookup_hash(b"q" * 32, value, purpose=purpose)


@given(mobiles, mobiles)
def test_lookup_hash_tells_different_values_apart(first: str, second: str) -> None:
    key = b"k" * 32
    same = lookup_hash(key, first, purpose="phone") == lookup_hash(key, second, purpose="phone")
    assert same is (first == second)


# --- redaction of log text --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caller 13800138000 asked", "caller 138****8000 asked"),
        ("caller 138-0013-8000 asked", "caller 138****8000 asked"),
        ("caller 138 0013 8000 asked", "caller 138****8000 asked"),
        ("caller +86 138 0013 8000 asked", "caller 138****8000 asked"),
        ("caller +8613800138000 asked", "caller 138****8000 asked"),
        ("来电13800138000，", "来电138****8000，"),
        ("tel13800138000", "tel138****8000"),
        ("id 110101199003071234 ok", "id 1****************4 ok"),
        ("id 11010119900307123X ok", "id 1****************X ok"),
        ('{"phone":"13800138000"}', '{"phone":"138****8000"}'),
    ],
)
def test_redact_masks_mobiles_and_id_numbers(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "at 1700000000 the clock ticked",  # a 10-digit Unix timestamp
        "at 1700000000123 ms",  # and in milliseconds
        "amount 123456789012 fen",
        "order 1380013800012345",  # longer than a mobile number
        "2026-11-22 05:08:40",
        "3f8e1c2a-5b7d-4e2f-9a10-13800138000a",  # a UUID whose last group holds a mobile
        "3f8e1c2a-5b7d-a138-0013-8000aabbccdd",  # ... or spans groups like 138-0013-8000
        "request 3f8e1c2a5b7d4e2f9a1b13800138000a failed",  # a request id (uuid4().hex)
    ],
)
def test_redact_leaves_ordinary_numbers_alone(text: str) -> None:
    assert redact(text) == text


@given(st.uuids())
def test_redact_leaves_uuids_alone(value: uuid.UUID) -> None:
    assert redact(str(value)) == str(value)
    assert redact(value.hex) == value.hex


@given(mobiles, st.sampled_from(["", " ", "：", "=", "\t"]))
def test_redacted_text_never_holds_a_mobiles_middle_digits(mobile: str, before: str) -> None:
    line = f"call{before}{mobile} now"
    redacted = redact(line)
    assert mobile not in redacted
    assert mobile[:3] + "****" + mobile[7:] in redacted


@given(id_numbers)
def test_redacted_text_never_holds_an_id_number(id_number: str) -> None:
    redacted = redact(f"id={id_number};")
    assert id_number not in redacted
    assert redacted == f"id={mask_id_number(id_number)};"
