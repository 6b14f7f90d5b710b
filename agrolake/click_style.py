"""Help the way Click tools show it, for a Typer app: ``typer.Typer(cls=ClickStyleGroup)``.

Typer 0.29 prints Python types in help (``<bool>``, ``<list[Path]>``) and a required
argument as ``{paths}``, and has no switch for Click's value names (``PATH``, ``TEXT``,
``INTEGER``; nothing for a flag) and usage (``PATHS...``), which every other Click tool
shows. The group gives each parameter of each of its commands (and sub-groups) a
subclass that names its value the Click way, when the command is looked up.
"""

from __future__ import annotations

from enum import Enum
from pathlib import PurePath
from typing import Any, get_args, get_origin

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

_VALUE_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN"}


def _value_name(param: Any) -> str:
    """Click's name of a parameter's value (PATH, TEXT, INTEGER, [a|b]); none for a flag."""
    if getattr(param, "is_flag", False):
        return ""
    described = param.type_descriptor
    if described.is_choice and described.choices:
        values = (c.value if isinstance(c, Enum) else c for c in described.choices)
        return "[" + "|".join(map(str, values)) + "]"
    annotation = described.annotation
    if get_origin(annotation) is list:
        [annotation] = get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "PATH"
    return _VALUE_NAMES.get(annotation, getattr(annotation, "__name__", "VALUE").upper())


class _ClickOption(TyperOption):
    def display_type(self, ctx: Any) -> str:
        return _value_name(self)

    def display_type_rich(self, ctx: Any) -> str:
        return _value_name(self)


class _ClickArgument(TyperArgument):
    def display_type(self, ctx: Any) -> str:
        return _value_name(self)

    def display_type_rich(self, ctx: Any) -> str:
        return _value_name(self)

    def _usage_display_name(self) -> str:  # Click's usage: PATHS..., [KEY]
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return f"{name}..." if self.nargs != 1 else name


def _click_style(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _ClickOption
        elif type(param) is TyperArgument:
            param.__class__ = _ClickArgument
            param.metavar = param.metavar or (param.name or "value").upper()
    return params


class _ClickCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _click_style(super().get_params(ctx))


class ClickStyleGroup(TyperGroup):
    """agrolake's group: its commands (and sub-groups) answer help the Click way."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _click_style(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if type(command) is TyperCommand:
            command.__class__ = _ClickCommand
        elif type(command) is TyperGroup:
            command.__class__ = ClickStyleGroup
        return command
