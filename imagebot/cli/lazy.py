"""The one click group class of the CLI: subcommands imported on first use, help without imports.

``imagebot --help`` and ``imagebot policy select`` are started often (scripts, acceptance checks),
so a group lists its subcommands from a table of ``"module:attribute"`` targets and short help,
and imports a module only when its command runs. A ``fallback`` routes an unknown first argument
to one subcommand (``imagebot policy WORKLOAD ...`` is ``imagebot policy set WORKLOAD ...``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.util import find_spec
from typing import Any

import click

Lazy = Mapping[str, tuple[str, str]]
"""name -> ("module:attribute", short help)."""


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: Lazy, fallback: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy, self.fallback = lazy, fallback

    def list_commands(self, ctx: click.Context) -> list[str]:
        installed = {name for name, (target, _) in self.lazy.items() if _installed(target)}
        return sorted(set(super().list_commands(ctx)) | installed)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.lazy:
            return command
        target = self.lazy[cmd_name][0]
        if not _installed(target):
            return None
        module_name, attribute = target.split(":")
        loaded = getattr(importlib.import_module(module_name), attribute, None)
        if not isinstance(loaded, click.Command):  # pragma: no cover - programming error
            raise TypeError(f"{target} is not a click command")
        return loaded

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # An option first (``imagebot policy -w deployment/web --tag ...``) is the fallback's
        # too, unless the group itself takes it (``--help``).
        first = args[0] if args else ""
        own = {name for param in self.get_params(ctx) for name in param.opts}
        if self.fallback and first.startswith("-") and first.split("=")[0] not in own:
            args = [self.fallback, *args]
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        first = args[0] if args else ""
        unknown = first and not first.startswith("-") and self.get_command(ctx, first) is None
        fallback = self.get_command(ctx, self.fallback) if unknown and self.fallback else None
        if self.fallback and fallback is not None:
            return self.fallback, fallback, args  # the first argument stays an argument
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help must not import lazy modules: their short help comes from the table.
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(70)))
            else:
                rows.append((name, self.lazy[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _installed(target: str) -> bool:
    """Whether the module of ``target`` exists in this installation."""
    return find_spec(target.split(":", maxsplit=1)[0]) is not None
