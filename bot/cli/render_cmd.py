"""`model-bot render`: write a model's Helm values and Argo Rollouts manifests.

Reads the model's folder and any override templates, lets `bot.core.render.render_change`
decide the new bytes, and writes only the files that change. Prints each changed path,
then `outcome: changed` or `outcome: unchanged`; a second run with the same input changes
nothing. Exit 2 for bad input (one line naming the field), nothing written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.core.errors import InvalidInput, Problem

if TYPE_CHECKING:  # pragma: no cover
    from bot.core.config import BotConfig
    from bot.core.render import ChangeSet


def _inside(root: Path, relative: str, field: str) -> Path:
    """`root / relative`, refusing a path that leaves the root through a symlink."""
    path = root / relative
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise InvalidInput.one(field, relative, f"leads outside {root} (through a symlink)")
    return path


def read_existing(root: Path, paths: list[str], field: str) -> dict[str, bytes]:
    existing = {}
    for relative in paths:
        path = _inside(root, relative, field)
        if path.is_file():
            existing[relative] = path.read_bytes()
    return existing


def read_folder(root: Path, folder: str, field: str) -> dict[str, bytes]:
    """Every file under `folder` (repo-relative), for a render that needs the whole folder
    (`bot.core.render.needs_whole_folder`): a kustomization, or a person's Rollout whose
    `spec.workloadRef` names a workload in another file."""
    base = _inside(root, folder, field)
    if not base.is_dir():
        return {}
    found = {}
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not any(
            part.startswith(".") for part in path.relative_to(base).parts
        ):
            found[relative] = _inside(root, relative, field).read_bytes()
    return found


def read_templates(root: Path, config: BotConfig) -> dict[str, str]:
    """The env repo's override templates (`templates_dir/*.j2`) by file name."""
    folder = _inside(root, config.templates_dir, "--env-repo")
    if not folder.is_dir():
        return {}
    templates = {}
    for path in sorted(folder.glob("*.j2")):
        source = f"{config.templates_dir}/{path.name}"
        try:
            templates[path.name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidInput.one(source, "", "not UTF-8 text (save it as UTF-8)") from None
    return templates


def _write(path: Path, data: bytes) -> None:
    """Replace the file in one step, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_change_set(root: Path, change_set: ChangeSet, field: str) -> list[str]:
    """Write the changed files and remove the deleted ones; the paths touched, in order."""
    touched = []
    for relative, data in change_set.changes.items():
        _write(_inside(root, relative, field), data)
        touched.append(relative)
    for relative in change_set.deleted:
        _inside(root, relative, field).unlink(missing_ok=True)
        touched.append(relative)
    return touched


def validation_problems(change_set: ChangeSet) -> list[str]:
    """CRD problems of the files this change renders or edits (a person's untouched file is
    theirs to fix, and does not block the change)."""
    from bot.core.manifests import validate_file
    from bot.core.render import is_bot_owned

    problems = []
    for path, data in change_set.files.items():
        if path in change_set.changed or is_bot_owned(data):
            problems += validate_file(data, path)
    return problems


def _root(env_repo: Path | None, out: Path | None) -> tuple[Path, str]:
    if (env_repo is None) == (out is None):
        raise InvalidInput.one("--env-repo", "", "pass exactly one of --env-repo PATH or --out DIR")
    if env_repo is not None:
        if not env_repo.is_dir():
            raise InvalidInput.one("--env-repo", "", f"{env_repo} is not a directory")
        return env_repo, "--env-repo"
    assert out is not None
    if out.exists() and not out.is_dir():
        raise InvalidInput.one("--out", "", f"{out} exists and is not a directory")
    return out, "--out"


@click.command("render")
@click.option("--model", required=True, metavar="NAME", help="Model name (a DNS-1123 label).")
@click.option("--version", "version", required=True, metavar="V", help="Model version.")
@click.option("--environment", required=True, metavar="ENV", help="Target environment.")
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy (rollout and analysis come from it).",
)
@click.option("--image", metavar="REPO", help="Image repository, without a tag.")
@click.option("--tag", metavar="TAG", help="Image tag. [default: the version]")
@click.option(
    "--model-uri", metavar="URI", help="Model artifact URI. [default: models:/NAME/VERSION]"
)
@click.option("--namespace", metavar="NS", help="Kubernetes namespace of the manifests.")
@click.option(
    "--env-repo",
    type=click.Path(file_okay=False, path_type=Path),
    help="Environment repo working tree: reads .model-bot.yaml and templates, writes files.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write into this folder instead (default settings, bundled templates).",
)
@click.option(
    "--validate",
    is_flag=True,
    help="Check the rendered objects against the bundled CRD schemas (Argo Rollouts, Istio, "
    "Gateway API).",
)
def render(
    model: str,
    version: str,
    environment: str,
    policy_file: Path,
    image: str | None,
    tag: str | None,
    model_uri: str | None,
    namespace: str | None,
    env_repo: Path | None,
    out: Path | None,
    validate: bool,
) -> None:
    """Render Helm values, Rollout and AnalysisTemplate of a model into an environment repo
    (with render.mode manifests: the complete folder, Services and kustomization included).

    Files that start with model-bot's header are rendered whole; files a person wrote get
    only the image tag and version changed in place; a folder with a kustomization.yaml
    gets only its images[].newTag bumped.
    """
    from bot.core.config import DEFAULT_CONFIG, load_config
    from bot.core.policy import load_policy
    from bot.core.render import (
        RenderRequest,
        candidate_paths,
        model_dir,
        needs_whole_folder,
        render_change,
        resolve,
    )

    root, field = _root(env_repo, out)
    config = load_config(root) if env_repo is not None else DEFAULT_CONFIG
    policy = load_policy(policy_file).for_environment(environment)
    request = RenderRequest(
        model=model,
        version=version,
        environment=environment,
        policy=policy,
        config=config,
        image_repository=image,
        image_tag=tag,
        model_uri=model_uri,
        namespace=namespace,
    )
    resolve(request)  # every input problem at once, before any path is built from a name
    existing = read_existing(root, candidate_paths(config, environment, model, version), field)
    if needs_whole_folder(existing):  # a kustomization, or a Rollout with a workloadRef
        folder = model_dir(config, environment, model, version)
        existing = {**read_folder(root, folder, field), **existing}
    templates = read_templates(root, config) if env_repo is not None else None
    change_set = render_change(request, existing, templates)
    if validate:
        problems = validation_problems(change_set)
        if problems:
            raise InvalidInput([Problem("--validate", "", problem) for problem in problems])
    for path in write_change_set(root, change_set, field):
        click.echo(path)
    click.echo(f"outcome: {change_set.outcome}")
