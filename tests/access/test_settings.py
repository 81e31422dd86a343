"""Production refuses to start without real secrets; other environments generate their own."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from pydantic import ValidationError

from app.cli import main
from app.core.config import Environment, Settings, get_settings

REAL = {
    "jwt_secret": "j" * 48,
    "api_key_pepper": "p" * 48,
    "pii_keys": "2026:" + base64.b64encode(b"k" * 32).decode(),
    "pii_hash_key": "h" * 48,
}


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("CONTACT_DESK_"):
            monkeypatch.delenv(name)


def production(**secrets: Any) -> Settings:
    return Settings(environment=Environment.PRODUCTION, **secrets)


def test_production_with_real_secrets_starts() -> None:
    settings = production(**REAL)
    assert settings.jwt_secret is not None
    assert "j" * 48 not in repr(settings)  # secrets are not printed


def test_production_without_any_secret_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        production()
    for name in REAL:
        assert name in str(refused.value)


@pytest.mark.parametrize("missing", sorted(REAL))
def test_production_without_one_secret_is_refused(missing: str) -> None:
    with pytest.raises(ValidationError, match=missing):
        production(**{k: v for k, v in REAL.items() if k != missing})


@pytest.mark.parametrize("name", ["jwt_secret", "api_key_pepper", "pii_hash_key"])
@pytest.mark.parametrize("value", ["changeme", "secret", "too-short-to-be-a-real-key"])
def test_production_refuses_placeholder_or_short_secrets(name: str, value: str) -> None:
    with pytest.raises(ValidationError, match=name):
        production(**{**REAL, name: value})


@pytest.mark.parametrize(
    "spec",
    [
        "changeme",
        "2026:" + base64.b64encode(b"short").decode(),
        ":" + base64.b64encode(b"k" * 32).decode(),
        "2026:not base64!",
    ],
)
def test_malformed_pii_keys_are_refused(spec: str) -> None:
    with pytest.raises(ValidationError, match="pii_keys"):
        production(**{**REAL, "pii_keys": spec})
    with pytest.raises(ValidationError, match="pii_keys"):
        Settings(environment=Environment.DEVELOPMENT, pii_keys=spec)


def test_rotated_pii_keys_are_accepted() -> None:
    old = base64.b64encode(b"o" * 32).decode()
    production(**{**REAL, "pii_keys": f"{REAL['pii_keys']}, 2025:{old}"})


@pytest.mark.parametrize("environment", [Environment.DEVELOPMENT, Environment.TEST])
def test_other_environments_start_without_secrets(environment: Environment) -> None:
    settings = Settings(environment=environment)
    assert settings.jwt_secret is None


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(jwt_secrett="typo")  # type: ignore[call-arg]


def test_a_refused_configuration_does_not_print_the_secrets() -> None:
    given = {**REAL, "pii_hash_key": "hash-key-" + "q" * 30 + "-TAIL", "jwt_secret": "changeme"}
    with pytest.raises(ValidationError) as refused:
        production(**given)
    message = str(refused.value)
    assert "jwt_secret" in message
    for value in given.values():
        assert value[:8] not in message
        assert value[-8:] not in message


OIDC = {
    "oidc_issuer": "https://idp.example.com",
    "oidc_audience": "contact-desk",
    "oidc_jwks_url": "https://idp.example.com/jwks",
}


@pytest.mark.parametrize("missing", sorted(OIDC))
def test_oidc_with_one_setting_missing_is_refused_naming_it(missing: str) -> None:
    with pytest.raises(ValidationError, match=f"missing: {missing}"):
        Settings(**{k: v for k, v in OIDC.items() if k != missing})


def test_oidc_is_all_three_settings_or_none() -> None:
    assert Settings(**OIDC).oidc_jwks_url == OIDC["oidc_jwks_url"]
    assert Settings().oidc_issuer is None


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("CONTACT_DESK_OIDC_ISSUER", OIDC["oidc_issuer"], "missing: oidc_audience, oidc_jwks_url"),
        ("CONTACT_DESK_PORT", "0", "port: Input should be greater than or equal to 1"),
    ],
)
def test_a_command_with_invalid_settings_says_which_and_exits_2(
    variable: str,
    value: str,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        assert main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr().err
    assert printed.startswith("contact-desk: the settings are not valid:")
    assert said in printed
