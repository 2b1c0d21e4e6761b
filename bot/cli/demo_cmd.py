"""`model-bot demo`: the main job on the embedded default, no GitHub needed."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("model-bot-demo/env-repo"),
    show_default=True,
    help="Where to create (or reuse) the local environment repo.",
)
@click.pass_context
def demo(ctx: click.Context, directory: Path) -> None:
    """Promote the bundled example candidate into a local environment repo.

    Copies the bundled example environment repo into DIR as a git repository (once), then
    runs `model-bot promote` in local mode with the bundled gate results and default
    policy: prints the decision, the diff and the pull request it would open. Run it twice
    to see the second run change nothing.
    """
    from bot.adapters.git import init_repo_from_folder
    from bot.cli.promote_cmd import promote
    from bot.core.resources import data_dir, policies_dir

    examples = data_dir("examples")
    created = init_repo_from_folder(
        examples / "env-repo",
        directory,
        branch="main",
        author=("model-bot demo", "model-bot-demo@example.invalid"),
        message="Example environment repo: fraud-detector 6 in production",
    )
    state = "created" if created else "reused"
    click.echo(f"demo env repo: {directory} ({state})\n")
    ctx.invoke(
        promote,
        results=examples / "gate-results.json",
        policy_path=policies_dir() / "default.yaml",
        environment="production",
        env_repo=str(directory.resolve()),
    )
    click.echo(
        f"\nInspect it: git -C {directory} log --all --oneline; "
        f"git -C {directory} diff main model-bot/promote/production/fraud-detector"
    )
