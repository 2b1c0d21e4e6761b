"""`model-bot demo`: the main job on the embedded default, no GitHub needed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

DEMO_REPO_URL = "https://github.com/acme/env-repo.git"
DEMO_IMAGE = "ghcr.io/acme/fraud-detector"


def seed_env_repo(root: Path, policy_path: Path) -> None:
    """What a team has after `model-bot init` and a first deployment: the scaffold, and
    fraud-detector 6 running in production, rendered by the bot (render.mode manifests)."""
    from bot.cli.init_cmd import scaffold
    from bot.cli.render_cmd import write_change_set
    from bot.core.config import load_config
    from bot.core.policy import load_policy
    from bot.core.render import RenderRequest, render_change

    scaffold(root, DEMO_REPO_URL, ("staging", "production"))
    request = RenderRequest(
        model="fraud-detector",
        version="6",
        environment="production",
        policy=load_policy(policy_path).for_environment("production"),
        config=load_config(root),
        image_repository=DEMO_IMAGE,
    )
    write_change_set(root, render_change(request, {}), "--dir")


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

    Makes DIR a git repository (once) holding what `model-bot init` scaffolds plus
    fraud-detector 6 in production, then runs `model-bot promote` in local mode with the
    bundled gate results and default policy: prints the decision, the diff and the pull
    request it would open. Run it twice to see the second run change nothing.
    """
    from bot.adapters.git import init_repo_from_folder
    from bot.cli.promote_cmd import promote
    from bot.core.resources import data_dir, policies_dir

    examples = data_dir("examples")
    created = False
    if not (directory / ".git").exists():
        with tempfile.TemporaryDirectory(prefix="model-bot-demo-") as seed:
            seed_env_repo(Path(seed), policies_dir() / "default.yaml")
            created = init_repo_from_folder(
                Path(seed),
                directory,
                branch="main",
                author=("model-bot demo", "model-bot-demo@example.invalid"),
                message="Environment repo from model-bot init: fraud-detector 6 in production",
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
