"""`model-bot`: the command line. The only place that prints and picks exit codes.

Commands load lazily so `model-bot --help` and `model-bot gate --results FILE` never import
mlflow, github, git or prometheus_api_client.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from typing import Any

import click

from bot.core.errors import EXIT_USAGE, BotError

# name -> (module, attribute, one-line help shown by `model-bot --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "gate": ("bot.cli.gate_cmd", "gate", "Decide whether a candidate model may be promoted."),
    "policy": ("bot.cli.schema_cmd", "policy", "Work with promotion policy files."),
    "schema": ("bot.cli.schema_cmd", "schema", "Print the JSON Schema of an input format."),
    "render": ("bot.cli.render_cmd", "render", "Render Helm values and Argo Rollouts manifests."),
    "promote": (
        "bot.cli.promote_cmd",
        "promote",
        "Gate, render and open a promotion pull request.",
    ),
    "analyze": (
        "bot.cli.analyze_cmd",
        "analyze",
        "Judge a canary from Prometheus; revert on failure.",
    ),
    "advance": (
        "bot.cli.advance_cmd",
        "advance",
        "Promote what soaked in one environment into the next one.",
    ),
    "rollback": (
        "bot.cli.rollback_cmd",
        "rollback",
        "Open a pull request that rolls a model back.",
    ),
    "history": (
        "bot.cli.history_cmd",
        "history",
        "What ran where, since when, and why (the deployment ledger).",
    ),
    "status": (
        "bot.cli.status_cmd",
        "status",
        "Every model in every environment: version, since, open PRs, holds, canaries.",
    ),
    "monitor": (
        "bot.cli.monitor_cmd",
        "monitor",
        "Watch deployed models for drift and decay; start their retraining once.",
    ),
    "event": (
        "bot.cli.event_cmd",
        "event",
        "Handle an Argo Rollouts notification or a merged bot pull request.",
    ),
    "chatops": (
        "bot.cli.chatops_cmd",
        "chatops",
        "Handle an issue_comment event (/rollback, /help).",
    ),
    "registry": (
        "bot.cli.registry_cmd",
        "registry",
        "Move MLflow registry aliases and tag versions as deployments land.",
    ),
    "init": (
        "bot.cli.init_cmd",
        "init",
        "Scaffold a new environment repo (config, ApplicationSet, workflows, README).",
    ),
    "demo": (
        "bot.cli.demo_cmd",
        "demo",
        "Promote the bundled example into a local env repo (no GitHub needed).",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    @staticmethod
    def _available(name: str) -> bool:
        module = COMMANDS[name][0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not self._available(cmd_name):
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="model-promotion-bot", prog_name="model-bot")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Gate, render, propose, watch and roll back ML model promotions, as reviewable PRs.

    Exit codes: 0 done or passed; 1 the answer is no (gate or analysis failed, a model
    drifted); 2 bad input or usage; 3 analysis or monitoring inconclusive.
    """
    ctx.obj = {"verbose": verbose}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> Any:
    args = argv if argv is not None else sys.argv[1:]
    verbose = "--verbose" in args

    def annotate(message: str) -> None:
        """As the GitHub Action, also show the error as an annotation, in input names."""
        import os

        from bot.cli.actionio import error_annotation, in_github_actions

        if in_github_actions(os.environ):
            click.echo(error_annotation(message, args))

    try:
        return cli.main(args=argv, prog_name="model-bot", standalone_mode=True)
    except BotError as error:
        if verbose:
            traceback.print_exc()
        message = _one_line(str(error))
        click.echo(f"model-bot: error: {message}", err=True)
        annotate(message)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        click.echo("model-bot: interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the last line of defence: never a traceback
        if verbose:
            traceback.print_exc()
        message = (
            f"internal error: {type(error).__name__}: {_one_line(str(error))} "
            "(rerun with --verbose and report it)"
        )
        click.echo(f"model-bot: {message}", err=True)
        annotate(message)
        sys.exit(EXIT_USAGE)
