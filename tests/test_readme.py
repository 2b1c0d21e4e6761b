"""README.md stays true to the CLI: every command and every option of it is documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from bot.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def leaf_commands() -> Iterator[tuple[str, click.Command]]:
    context = click.Context(cli)

    def walk(command: click.Command, path: list[str]) -> Iterator[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, name
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    yield from walk(cli, [])


COMMANDS = dict(leaf_commands())


def section(command: str) -> str:
    """The README section `### \\`model-bot <top-level command>\\``, else the whole README."""
    top = command.split()[0]
    found = re.search(
        rf"^### `model-bot {re.escape(top)}`\n(.*?)(?=^#{{1,3}} )", README, re.MULTILINE | re.DOTALL
    )
    return found.group(1) if found else README


def test_every_command_is_in_the_command_table() -> None:
    assert len(COMMANDS) >= 9
    for command in COMMANDS:
        # A group's subcommands may share a row: `model-bot schema gate-results|policy|config`.
        group, _, sub = command.rpartition(" ")
        pattern = (
            rf"`model-bot {re.escape(group)} [^`]*\b{re.escape(sub)}\b[^`]*`"
            if group
            else rf"`model-bot {re.escape(sub)}[` ]"
        )
        assert re.search(rf"^\| {pattern}", README, re.MULTILINE), (
            f"add model-bot {command} to the command table in README.md"
        )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_is_documented_in_its_section(command: str) -> None:
    text = section(command)
    options = [
        opt
        for param in COMMANDS[command].params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--") and opt != "--help"
    ]
    missing = [opt for opt in options if not re.search(rf"{re.escape(opt)}(?![-\w])", text)]
    assert not missing, f"README.md's section on model-bot {command} lacks {missing}"
