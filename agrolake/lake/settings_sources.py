"""Where each setting in force comes from, and ``AGROLAKE_*`` names that are no setting.

pydantic-settings reads a field from the environment first, then from ``.env`` in the
working folder, else takes its default; ``agrolake config`` shows which for every field
of :class:`Settings` and :class:`NotificationSettings`, with secrets masked.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from agrolake.lake.settings import NotificationSettings, Settings

PREFIX = "AGROLAKE_"
ENV_FILE = ".env"
MASK = "********"
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (Settings, NotificationSettings)


@dataclass(frozen=True)
class SettingInForce:
    """One setting: its variable, the value in force (masked if secret) and its source."""

    variable: str
    value: Any
    source: str  # "environment", ".env" or "default"
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "value": self.value,
            "source": self.source,
            "description": self.description,
        }


def known_variables() -> list[str]:
    """Every ``AGROLAKE_*`` variable some settings class reads."""
    return sorted({PREFIX + name.upper() for cls in SETTINGS_CLASSES for name in cls.model_fields})


def settings_in_force(env_file: Path = Path(ENV_FILE)) -> list[SettingInForce]:
    """Every setting with its value in force and where it came from.

    Raises :class:`~agrolake.errors.ConfigError` if the settings do not validate.
    """
    from agrolake.lake.settings import load_settings

    from_env = {k.upper() for k in os.environ}
    from_file = {k.upper() for k in dotenv_values(env_file)}
    loaded: list[BaseSettings] = [load_settings(), NotificationSettings()]  # type: ignore[call-arg]
    found = []
    for settings in loaded:
        for name, field in type(settings).model_fields.items():
            variable = PREFIX + name.upper()
            source = (
                "environment"
                if variable in from_env
                else ".env"
                if variable in from_file
                else "default"
            )
            found.append(
                SettingInForce(
                    variable, _shown(getattr(settings, name)), source, field.description or ""
                )
            )
    return sorted(found, key=lambda s: s.variable)


def unknown_variables(
    environ: Mapping[str, str] | None = None, env_file: Path = Path(ENV_FILE)
) -> list[str]:
    """One warning line per ``AGROLAKE_*`` name, in the environment or ``.env``, that no
    setting reads (a likely typo), with the closest real name."""
    environ = os.environ if environ is None else environ
    known = set(known_variables())
    lines = []
    for origin, names in (("the environment", environ), (ENV_FILE, dotenv_values(env_file))):
        for name in sorted(names):
            upper = name.upper()
            if not upper.startswith(PREFIX) or upper in known:
                continue
            close = difflib.get_close_matches(upper, known, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            lines.append(f"{name} (from {origin}) is not an agrolake setting{hint}")
    return lines


def dotenv_values(path: Path) -> dict[str, str | None]:
    """The variables a ``.env`` file sets (empty when there is none)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values as read

    return dict(read(path))


def _shown(value: Any) -> Any:
    """A value for display: secrets masked, URLs without their password, JSON-ready."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, str) and "://" in value:
        return _without_password(value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}{port}"))
