"""`model-bot init`: scaffold a new environment repo (config, ApplicationSet, workflows, README)."""

from __future__ import annotations

from pathlib import Path

import click


def write_scaffold(root: Path, files: dict[str, bytes]) -> list[tuple[str, str]]:
    """Write the files that are missing; (path, outcome) for each: created, unchanged (the
    same bytes are there), or kept (a different file is there: someone's, left as it is)."""
    from bot.cli.render_cmd import _inside, _write

    outcomes = []
    for relative, data in files.items():
        path = _inside(root, relative, "--dir")
        if path.is_file():
            outcome = "unchanged" if path.read_bytes() == data else "kept"
        else:
            _write(path, data)
            outcome = "created"
        outcomes.append((relative, outcome))
    return outcomes


def scaffold(root: Path, repo_url: str, environments: tuple[str, ...]) -> list[tuple[str, str]]:
    """Check every file of the scaffold, then write what is missing under `root`."""
    from bot.core.resources import workflows_dir
    from bot.core.scaffold import WORKFLOWS, ScaffoldOptions, scaffold_files
    from bot.text.envrepo import env_repo_readme

    options = ScaffoldOptions(repo_url=repo_url, environments=environments)
    folder = workflows_dir()
    workflows = {name: (folder / name).read_bytes() for name in WORKFLOWS}
    files = scaffold_files(options, workflows, env_repo_readme(options))  # checks first
    root.mkdir(parents=True, exist_ok=True)
    return write_scaffold(root, files)


@click.command("init")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The environment repo's working tree to scaffold (created if missing).",
)
@click.option(
    "--repo-url",
    default="https://github.com/OWNER/REPO.git",
    show_default=True,
    metavar="URL",
    help="The URL Argo CD clones the environment repo from (in the ApplicationSet).",
)
@click.option(
    "--environment",
    "environments",
    multiple=True,
    metavar="ENV",
    help="An environment, in promotion order; repeat it. [default: staging, production]",
)
def init(directory: Path, repo_url: str, environments: tuple[str, ...]) -> None:
    """Scaffold a new environment repo: .model-bot.yaml (render mode manifests), an Argo CD
    ApplicationSet over environments/*/*, the analyze, ChatOps and event workflows, and a
    README for the repo's users.

    Every file is checked before any is written (the ApplicationSet against Argo CD's CRD
    schema). Idempotent: a file that is already there is left as it is, so a second run
    changes nothing.
    """
    outcomes = scaffold(directory, repo_url, environments or ("staging", "production"))
    for path, outcome in outcomes:
        note = " (differs from the scaffold: left as it is)" if outcome == "kept" else ""
        click.echo(f"{outcome:9} {path}{note}")
    created = any(outcome == "created" for _, outcome in outcomes)
    click.echo(f"outcome: {'created' if created else 'unchanged'}")
