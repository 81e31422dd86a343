"""The README stays true to the code: every setting is documented with its real default."""

from __future__ import annotations

from pathlib import Path

from app.core.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _env_name(field: str) -> str:
    return "DATABASE_URL" if field == "database_url" else f"CONTACT_DESK_{field.upper()}"


def test_every_setting_is_in_the_configuration_table() -> None:
    defaults = Settings.model_construct()
    for name in Settings.model_fields:
        env = _env_name(name)
        rows = [line for line in README.splitlines() if line.startswith(f"| `{env}` |")]
        assert rows, f"{env} is missing from the README's configuration table"
        default = getattr(defaults, name)
        if default is None:
            continue
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        if isinstance(default, float) and default.is_integer():
            shown = str(int(default))
        assert f"`{shown}`" in rows[0], f"README shows the wrong default for {env}"


def test_readme_commands_are_the_ones_ci_runs() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 tasks.py test" in README
    assert "python3 tasks.py run" in README
    assert "python3 tasks.py test" in ci
