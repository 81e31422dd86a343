"""Ticket numbers made by the INSERT itself: ``IQ20261122000123`` — a prefix, the receipt day
and a sequence value (gaps are fine, repeats are not), with no extra round trip."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Sequence, Text, cast, func, literal, select


def number_expression(prefix: str, on: dt.date, sequence: Sequence) -> Any:
    """A scalar subquery computing the next number (at least six digits of sequence)."""
    value = select(sequence.next_value().label("n")).subquery()
    digits = cast(value.c.n, Text)
    padded = func.lpad(digits, func.greatest(6, func.length(digits)), "0")
    return select(literal(f"{prefix}{on:%Y%m%d}", Text) + padded).scalar_subquery()
