"""A Schemathesis check of this service's own: schema-valid data passes request validation.

Schemathesis's ``positive_data_acceptance`` cannot tell a domain rule the schema cannot state
(422 ``invalid_input``: an unknown branch, ``to`` before ``from``) from a request model that is
stricter than the schema it publishes (422 ``validation_failed``, 400 ``malformed_json``). The
first is allowed in ``schemathesis.toml``; this check keeps failing the second, which means the
OpenAPI document lies. Loaded by the in-process test and, through ``SCHEMATHESIS_HOOKS``, by
``scripts/fuzz_deep.py``.
"""

from __future__ import annotations

from typing import Any

import schemathesis

# Problem codes that only request parsing and model validation produce (app/api/problems.py).
MODEL_REJECTIONS = frozenset({"validation_failed", "malformed_json"})
# Pydantic error types of validators written in code rather than constraints in the schema.
CODE_RULES = frozenset({"value_error", "assertion_error"})


@schemathesis.check
def schema_valid_request_validated(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if response.status_code not in (400, 422):
        return
    try:
        body = response.json()
    except ValueError:
        return
    if not isinstance(body, dict) or body.get("code") not in MODEL_REJECTIONS:
        return
    # A validator written in code (``value_error``: a cross-field rule such as "paid needs
    # amount", stated in the field descriptions) may refuse what the schema allows; a built-in
    # constraint (type, length, range, required) refusing it means the schema is wrong.
    builtin = [
        e
        for e in body.get("errors") or []
        if e.get("type") not in CODE_RULES and not _trimmed_too_short(case, e)
    ]
    if builtin or body.get("code") == "malformed_json":
        raise AssertionError(
            f"A request valid under the OpenAPI schema was refused by request validation "
            f"({response.status_code} {body.get('code')}): {body.get('detail')} {builtin}"
        )


def _trimmed_too_short(case: Any, error: dict[str, Any]) -> bool:
    """Whether the value was long enough as sent and only too short once stripped.

    Request models strip surrounding whitespace before checking ``min_length``, which the
    schema does not state. Saying it exactly takes a regex per string (stripped length >= n);
    those made Schemathesis's generation several times slower, so this deviation is accepted
    and documented (README, "Schema fuzzing") rather than published."""
    if error.get("type") != "string_too_short":
        return False
    loc = list(error.get("loc") or [])
    value: Any = case.body if loc[:1] == ["body"] else None
    for key in loc[1:]:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, str) and value != value.strip()
