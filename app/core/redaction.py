"""Masks personal numbers in text that is about to leave the process (log lines)."""

from __future__ import annotations

import re

# Defence in depth for logs: anything shaped like a mainland mobile or ID-card number is masked
# before a line is written, whatever code wrote it.
_MOBILE = r"(?<!\d)(?:\+?86[- ]?)?(?P<head>1[3-9]\d)[- ]?\d{4}[- ]?(?P<tail>\d{4})(?!\d)"
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d)\d{16}([\dXx])(?![0-9A-Za-z])")
# UUIDs and 32-hex ids (request ids) are matched whole and kept: their digits can happen to
# look like a mobile number, and a mangled id no longer finds its log lines.
_HEX_ID = (
    r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{32})"
    r"(?![0-9A-Za-z])"
)
_MOBILE_OUTSIDE_IDS = re.compile(f"(?P<id>{_HEX_ID})|{_MOBILE}")


def _mask_mobile(match: re.Match[str]) -> str:
    if match.group("id"):
        return match.group(0)
    return match.group("head") + "****" + match.group("tail")


def redact(text: str) -> str:
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * 16 + m.group(2), text)
    return _MOBILE_OUTSIDE_IDS.sub(_mask_mobile, text)
