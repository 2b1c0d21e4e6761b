"""`model-bot schema ...` (JSON Schemas of the input formats) and `model-bot policy check`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click


def _print_schema(build: Callable[[], dict[str, object]]) -> None:
    click.echo(json.dumps(build(), indent=2, ensure_ascii=False))


@click.group("schema")
def schema() -> None:
    """Print the JSON Schema of an input format."""


@schema.command("gate-results", short_help="The gate results JSON (gate --results).")
def gate_results() -> None:
    """The gate results JSON an evaluation step writes (`gate --results`)."""
    from bot.core.evidence import gate_results_json_schema

    _print_schema(gate_results_json_schema)


@schema.command("policy")
def policy_schema() -> None:
    """A promotion policy (`policies/*.yaml`)."""
    from bot.core.policy import policy_json_schema

    _print_schema(policy_json_schema)


@schema.command("config")
def config_schema() -> None:
    """The environment repo's `.model-bot.yaml`."""
    from bot.core.config import config_json_schema

    _print_schema(config_json_schema)


@click.group("policy")
def policy() -> None:
    """Work with promotion policy files."""


@policy.command("check", short_help="Validate policy files.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Validate policy FILES; print `FILE: ok (N gates)` or every problem (exit 2). A
    policy needs at least one gate, in every environment override too."""
    from bot.core.errors import InvalidInput
    from bot.core.policy import load_policy

    failures: list[InvalidInput] = []
    for path in files:
        try:
            policy = load_policy(path, require_gates=True)
        except InvalidInput as error:
            failures.append(error)
            continue
        count = len(policy.gates)
        click.echo(f"{path}: ok ({count} gate{'' if count == 1 else 's'})")
    if failures:
        raise InvalidInput.merge(failures)
