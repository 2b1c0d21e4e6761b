"""An environment repo with merged promotions, made by the real promote flow.

Shared by the rollback, analyze and ChatOps tests. Two flavours:

* on the fake GitHub (`github_env_repo`, `promote_and_merge`): the bot's promotion PR is
  merged through the fake's REST API (`PUT /pulls/N/merge`), a real git merge;
* a local bare repo (`local_env_repo`, `promote_locally_and_merge`): promote's local mode
  pushes the branch, and the helper merges it into `main` (merge commit or fast-forward).

Typical use::

    def test_x(fake_github, monkeypatch, tmp_path):
        fast_github(monkeypatch)
        repo = github_env_repo(fake_github)
        promote_and_merge(fake_github, repo, "error-regression", "1", workdir=tmp_path)
        second = promote_and_merge(fake_github, repo, "error-regression", "2", workdir=tmp_path)

Every env repo also holds a neighbour model (`NEIGHBOUR`) whose files no test may see change.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.session import session_opener
from bot.core.evidence import Evidence
from bot.core.policy import Policy, load_policy
from bot.core.target import EnvRepoTarget
from bot.flows.promote import PromoteOptions, PromoteResult, promote
from tests.fakegithub import FakeGitHub
from tests.gitrepos import git_env, make_bare_repo, seed_env_repo

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POLICY_PATH = ROOT / "policies" / "default.yaml"

TOKEN = "ghs_envfixtures0123456789abcdefABCDEF"
BOT_LOGIN = "model-bot"
REPO = "acme/env"
ENVIRONMENT = "production"
NAMESPACE = "models"
NEIGHBOUR = "neighbour"

CONFIG = f"""\
apiVersion: model-bot/v1
kind: BotConfig
environments:
  {ENVIRONMENT}:
    namespace: {NAMESPACE}
  staging: {{}}
"""

# The ladder: staging soaks an hour, then `advance` proposes production, which requires it.
LADDER = """\
apiVersion: model-bot/v1
kind: BotConfig
environments:
  staging:
    next: [production]
    soak: {duration: 1h}
  production:
    requires: staging
"""

NEIGHBOUR_FILES = {
    f"environments/{ENVIRONMENT}/{NEIGHBOUR}/values.yaml": (
        "# written by a person\nimage:\n  repository: ghcr.io/acme/neighbour\n"
        '  tag: "9"\nmodel:\n  version: "9"\n'
    ),
    f"environments/{ENVIRONMENT}/{NEIGHBOUR}/rollout.yaml": (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: neighbour\n"
    ),
    "environments/staging/.keep": "",
    "README.md": "# environment repo\n",
}


def fast_github(monkeypatch: pytest.MonkeyPatch) -> None:
    """No client-side pauses between GitHub writes, short backoff (ForgeSettings.from_env)."""
    monkeypatch.setenv("MODEL_BOT_GITHUB_WRITE_INTERVAL", "0")
    monkeypatch.setenv("MODEL_BOT_GITHUB_BACKOFF", "0.01")


def default_policy() -> Policy:
    return load_policy(DEFAULT_POLICY_PATH)


def folder(model: str, environment: str = ENVIRONMENT) -> str:
    return f"environments/{environment}/{model}"


def evidence_data(model: str, version: str, *, champion: str | None = None) -> dict[str, Any]:
    """Gate results (as `--results` reads them) that pass the default policy's gates."""
    data: dict[str, Any] = {
        "model": {
            "name": model,
            "version": version,
            "image": f"ghcr.io/acme/{model}",
            "tag": f"{version}-abc1234",
        },
        "metrics": {"accuracy": 0.95, "latency_p99_ms": 8.0, "safety_violations": 0},
        "lineage": {"code_commit": "3f2a1c9", "run_id": f"run-{model}-{version}"},
    }
    if champion is not None:
        data["champion"] = {
            "version": champion,
            "metrics": {"accuracy": 0.949, "latency_p99_ms": 8.2, "safety_violations": 0},
        }
    return data


def evidence(model: str, version: str, *, champion: str | None = None) -> Evidence:
    """Evidence that passes the default policy's gates."""
    return Evidence.model_validate(evidence_data(model, version, champion=champion))


def results_file(directory: Path, model: str, version: str, *, champion: str | None = None) -> Path:
    """`evidence_data` written as a gate-results file for the CLI's `--results`."""
    path = directory / f"results-{model}-{version}.json"
    path.write_text(json.dumps(evidence_data(model, version, champion=champion)), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- fake GitHub


def github_env_repo(
    fake: FakeGitHub,
    repo: str = REPO,
    *,
    token: str = TOKEN,
    files: Mapping[str, str | bytes] | None = None,
) -> str:
    """A repository on the fake with `.model-bot.yaml`, a neighbour model and `files`; the
    bot user (`BOT_LOGIN`, `token`) may write to it. Returns OWNER/NAME."""
    owner, name = repo.split("/")
    fake.add_user(BOT_LOGIN, token=token, type="Bot")
    fake.add_repo(owner, name)
    fake.set_permission(owner, name, BOT_LOGIN, "write")
    seed: dict[str, str | bytes | None] = {".model-bot.yaml": CONFIG, **NEIGHBOUR_FILES}
    seed.update(files or {})
    fake.commit_files(owner, name, "main", seed, "Seed the environment repo")
    return repo


def github_target(fake: FakeGitHub, repo: str = REPO) -> EnvRepoTarget:
    return EnvRepoTarget("github", repo, fake.api_url)


def run_promote(
    target: EnvRepoTarget,
    model: str,
    version: str,
    *,
    champion: str | None = None,
    environment: str = ENVIRONMENT,
    policy: Policy | None = None,
    token: str | None = TOKEN,
    workdir: Path | None = None,
) -> PromoteResult:
    """The real `bot.flows.promote.promote` (gates, render, commit, push, PR)."""
    options = PromoteOptions(
        environment=environment, policy_source=str(DEFAULT_POLICY_PATH), local=target.is_local
    )
    opener = session_opener(
        target, base=None, token=None if target.is_local else token, workdir=workdir
    )
    result = promote(
        evidence(model, version, champion=champion), policy or default_policy(), options, opener
    )
    assert result.outcome in ("created", "updated"), (result.outcome, result.reason)
    return result


def merge_pull(
    fake: FakeGitHub, repo: str, number: int, *, token: str = TOKEN, method: str = "merge"
) -> str:
    """Merge a PR through the fake's REST API (a real git merge); returns the new base sha."""
    client = fake.client(token)
    status = client.get_repo(repo).get_pull(number).merge(merge_method=method)
    assert status.merged, status.message
    return str(status.sha)


@dataclass(frozen=True)
class Promotion:
    """A promotion made and merged: its PR, the bot's commit and the base before and after."""

    result: PromoteResult
    number: int
    commit: str  # the bot's promotion commit (the PR head)
    base_before: str  # the base branch before the merge
    merge: str  # the base branch after the merge (the merge commit for method "merge")


def promote_and_merge(
    fake: FakeGitHub,
    repo: str,
    model: str,
    version: str,
    *,
    champion: str | None = None,
    environment: str = ENVIRONMENT,
    policy: Policy | None = None,
    token: str = TOKEN,
    method: str = "merge",
    workdir: Path | None = None,
) -> Promotion:
    """Promote `model` `version` with the real flow and merge its PR on the fake."""
    owner, name = repo.split("/")
    before = fake.branch_sha(owner, name, "main")
    assert before is not None
    result = run_promote(
        github_target(fake, repo),
        model,
        version,
        champion=champion,
        environment=environment,
        policy=policy,
        token=token,
        workdir=workdir,
    )
    assert result.pull_request is not None and result.commit is not None
    merged = merge_pull(fake, repo, result.pull_request.number, token=token, method=method)
    return Promotion(result, result.pull_request.number, result.commit, before, merged)


def deploy(
    fake: FakeGitHub,
    repo: str,
    model: str,
    versions: tuple[str, ...] = ("1", "2"),
    **kwargs: object,
) -> list[Promotion]:
    """Promote and merge each version in turn (each over the one before)."""
    done: list[Promotion] = []
    previous: str | None = None
    for version in versions:
        done.append(
            promote_and_merge(fake, repo, model, version, champion=previous, **kwargs)  # type: ignore[arg-type]
        )
        previous = version
    return done


def bare_path(fake: FakeGitHub, repo: str = REPO) -> Path:
    owner, name = repo.split("/")
    return fake.repo_path(owner, name)


# --------------------------------------------------------------------------- local repos


def local_env_repo(path: Path, files: Mapping[str, bytes] | None = None) -> Path:
    """A bare repo (usable as a local `--env-repo`) seeded like `github_env_repo`."""
    bare = make_bare_repo(path)
    seed = {p: d.encode() if isinstance(d, str) else d for p, d in NEIGHBOUR_FILES.items()}
    seed[".model-bot.yaml"] = CONFIG.encode()
    seed.update(files or {})
    seed_env_repo(bare, seed, "Seed the environment repo")
    return bare


def promote_locally_and_merge(
    bare: Path,
    model: str,
    version: str,
    *,
    champion: str | None = None,
    environment: str = ENVIRONMENT,
    policy: Policy | None = None,
    workdir: Path | None = None,
    fast_forward: bool = False,
) -> str:
    """Promote in local mode (the branch is pushed to `bare`), then merge it into main: a
    merge commit, or a fast-forward (the promotion commit lands on main as is). Returns
    main's new sha."""
    result = run_promote(
        EnvRepoTarget("local", str(bare)),
        model,
        version,
        champion=champion,
        environment=environment,
        policy=policy,
        workdir=workdir,
    )
    assert result.branch is not None and result.commit is not None
    return merge_branch(bare, result.branch, fast_forward=fast_forward)


def merge_branch(bare: Path, branch: str, *, fast_forward: bool = False) -> str:
    """Merge `branch` into main inside a bare repo, as a merge commit (or fast-forward)."""
    head = bare_git(bare, "rev-parse", f"refs/heads/{branch}")
    main = bare_git(bare, "rev-parse", "refs/heads/main")
    if fast_forward:
        assert bare_git(bare, "merge-base", main, head) == main, "not a fast-forward"
        bare_git(bare, "update-ref", "refs/heads/main", head, main)
        return head
    tree = bare_git(bare, "merge-tree", "--write-tree", main, head)
    merge = bare_git(
        bare, "commit-tree", tree, "-p", main, "-p", head, "-m", f"Merge branch '{branch}'"
    )
    bare_git(bare, "update-ref", "refs/heads/main", merge, main)
    return merge


# --------------------------------------------------------------------------- the CLI


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]  # what the command wrote to $GITHUB_OUTPUT


def run_cli(
    *args: str | Path,
    token: str | None = TOKEN,
    env: Mapping[str, str | None] | None = None,
    tmp_path: Path | None = None,
) -> CliResult:
    """Run `model-bot ARGS` in-process as the console script does (`bot.cli.main`), with
    GITHUB_TOKEN set to `token`; with `tmp_path`, step outputs are captured too."""
    from bot.cli import main
    from tests.actionrunner import parse_github_output

    environment: dict[str, str | None] = {"GITHUB_TOKEN": token, "GITHUB_OUTPUT": None}
    output_file = None
    if tmp_path is not None:
        output_file = tmp_path / f"github-output-{len(list(tmp_path.glob('github-output-*')))}"
        output_file.write_text("")
        environment["GITHUB_OUTPUT"] = str(output_file)
    environment.update(env or {})
    with CliRunner().isolation(env=environment) as (out, err, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        outputs = parse_github_output(output_file.read_text()) if output_file is not None else {}
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode(), outputs)


# --------------------------------------------------------------------------- inspecting


def bare_git(bare: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", f"--git-dir={bare}", *args], capture_output=True, env=git_env(), check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode("utf-8", errors="replace").strip()


def folder_blobs(bare: Path, commit: str, path: str) -> dict[str, str]:
    """`git ls-tree -r` of `path` at `commit`: file path -> (mode, blob sha)."""
    out = bare_git(bare, "ls-tree", "-r", "--full-tree", commit, "--", path)
    blobs = {}
    for line in out.splitlines():
        meta, _, name = line.partition("\t")
        mode, _kind, oid = meta.split()
        blobs[name] = f"{mode} {oid}"
    return blobs


def show(bare: Path, commit: str, path: str) -> str:
    return bare_git(bare, "show", f"{commit}:{path}")


def commit_message(bare: Path, commit: str) -> str:
    return bare_git(bare, "log", "-1", "--format=%B", commit)


__all__ = [
    "BOT_LOGIN",
    "ENVIRONMENT",
    "NAMESPACE",
    "NEIGHBOUR",
    "REPO",
    "TOKEN",
    "CliResult",
    "Promotion",
    "bare_git",
    "bare_path",
    "commit_message",
    "default_policy",
    "deploy",
    "evidence",
    "fast_github",
    "folder",
    "folder_blobs",
    "github_env_repo",
    "github_target",
    "local_env_repo",
    "merge_branch",
    "merge_pull",
    "promote_and_merge",
    "promote_locally_and_merge",
    "run_cli",
    "run_promote",
    "show",
]
