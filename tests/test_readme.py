"""README.md stays true: every command and option of the CLI, every field of the input formats
(in examples that validate)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from bot.cli import cli
from bot.core.config import BotConfig
from bot.core.evidence import Evidence
from bot.core.loading import load_file
from bot.core.policy import load_policy, policy_json_schema

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


def fenced(section_title: str, language: str) -> str:
    """The first ```language block under `## section_title`."""
    body = re.search(rf"^## {re.escape(section_title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert body, section_title
    block = re.search(rf"^```{language}\n(.*?)^```", body.group(1), re.M | re.S)
    assert block, f"no {language} block under {section_title}"
    return block.group(1)


def schema_fields(schema: dict[str, Any]) -> set[str]:
    """Every property name anywhere in a JSON Schema (its $defs included)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    found.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return found


def test_the_examples_are_valid(tmp_path: Path) -> None:
    evidence = json.loads(fenced("Gate results", "json").replace('"3f2a1c9..."', '"3f2a1c9"'))
    Evidence.model_validate(evidence)
    policy = tmp_path / "policy.yaml"
    policy.write_text(fenced("Policy", "yaml"), encoding="utf-8")
    load_policy(policy)
    config = tmp_path / ".model-bot.yaml"
    config.write_text(fenced("The environment repo", "yaml"), encoding="utf-8")
    load_file(config, BotConfig, "config")


@pytest.mark.parametrize(
    ("section", "language", "schema"),
    [
        ("Gate results", "json", lambda: Evidence.model_json_schema(by_alias=True)),
        ("Policy", "yaml", policy_json_schema),
        ("The environment repo", "yaml", lambda: BotConfig.model_json_schema(by_alias=True)),
    ],
    ids=["gate-results", "policy", "config"],
)
def test_every_field_is_in_the_example(
    section: str, language: str, schema: Callable[[], dict[str, Any]]
) -> None:
    example = fenced(section, language)
    missing = sorted(f for f in schema_fields(schema()) if not re.search(rf"\b{f}\b", example))
    assert not missing, f"README.md's {section} example lacks {missing}"


def test_readme_shows_the_rollout_notification_configmap_byte_for_byte() -> None:
    root = Path(__file__).resolve().parents[1]
    configmap = (root / "docs" / "argo-rollouts-notifications.yaml").read_text()
    assert f"```yaml\n{configmap}```" in README, "paste the ConfigMap into README.md again"
