"""Masks personal numbers in text that is about to leave the process (log lines)."""

from __future__ import annotations

import re

# Defence in depth for logs: anything shaped like a mainland mobile or ID-card number is masked
# before a line is written, whatever code wrote it.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d)\d{16}([\dXx])(?![0-9A-Za-z])")


def redact(text: str) -> str:
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * 16 + m.group(2), text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
