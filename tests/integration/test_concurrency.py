"""Many `model-bot promote` processes at once against one environment repo on one fake GitHub.

Real processes (`python -m bot promote`), started together: twenty for twenty models give
twenty pull requests whose diffs touch only their own model, and that merge one after the
other (real git merges through the fake's merge API) into a base holding every bump. Two for
the same model converge on one pull request and one consistent branch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.names import promote_branch
from bot.core.trailers import parse_trailers
from tests.envfixtures import (
    CONFIG,
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    NEIGHBOUR_FILES,
    REPO,
    TOKEN,
    bare_git,
    bare_path,
    folder,
    github_env_repo,
    merge_pull,
    results_file,
)
from tests.fakegithub import FakeGitHub

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("commit_mode")]

OWNER, NAME = REPO.split("/")
MODELS = [f"model-{i:02d}" for i in range(20)]
DEADLINE = 90.0  # seconds for a batch of processes; they take about 15 s on 2 cores
VALUES = """\
# {model}: written by a person
image:
  repository: ghcr.io/acme/{model}
  tag: "1-0000000"
model:
  version: "1"
"""


def expected_files(model: str, version: str) -> set[str]:
    return {
        f"{folder(model)}/values.yaml",
        f"{folder(model)}/rollout.yaml",
        f"{folder(model)}/analysis-template.yaml",
        f"reports/production/{model}/{version}.md",
        f"reports/production/{model}/{version}.evidence.json",
    }


@dataclass
class Run:
    model: str
    code: int
    stdout: str
    stderr: str

    @property
    def outcome(self) -> str | None:
        for line in self.stdout.splitlines():
            if line.startswith("outcome: "):
                return line.split()[1]
        return None


def run_all(fake: FakeGitHub, tmp_path: Path, jobs: list[tuple[str, str]]) -> list[Run]:
    """Start one `model-bot promote` process per (model, version), all at once; wait."""
    work = tmp_path / "tmp"
    work.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": fake.api_url,
        "MODEL_BOT_GITHUB_WRITE_INTERVAL": "0",
        "MODEL_BOT_GITHUB_BACKOFF": "0.01",
        "TMPDIR": str(work),
    }
    processes = []
    for index, (model, version) in enumerate(jobs):
        argv = [
            sys.executable,
            "-m",
            "bot",
            "promote",
            "--results",
            str(results_file(tmp_path, model, version)),
            "--policy",
            str(DEFAULT_POLICY_PATH),
            "--environment",
            ENVIRONMENT,
            "--env-repo",
            REPO,
        ]
        out = (tmp_path / f"out-{index}").open("wb")
        err = (tmp_path / f"err-{index}").open("wb")
        processes.append((model, subprocess.Popen(argv, env=env, stdout=out, stderr=err)))
        out.close()
        err.close()
    deadline = time.monotonic() + DEADLINE
    runs = []
    try:
        for index, (model, process) in enumerate(processes):
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
            runs.append(
                Run(
                    model,
                    code,
                    (tmp_path / f"out-{index}").read_text(),
                    (tmp_path / f"err-{index}").read_text(),
                )
            )
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert fake.server_errors == []
    assert list(work.iterdir()) == []  # every run removed its clone
    return runs


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    """acme/env seeded with twenty model folders (version 1) and a neighbour."""
    github_env_repo(
        fake_github,
        files={
            ".model-bot.yaml": CONFIG,
            **{f"{folder(m)}/values.yaml": VALUES.format(model=m) for m in MODELS},
        },
    )
    return fake_github


def test_twenty_models_at_once_give_twenty_clean_prs_that_all_merge(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    bare = bare_path(fake)
    seed = fake.branch_sha(OWNER, NAME, "main")

    runs = run_all(fake, tmp_path, [(m, "2") for m in MODELS])

    for run in runs:
        assert run.code == 0, (run.model, run.stdout, run.stderr)
        assert run.stderr == "", (run.model, run.stderr)
        assert run.outcome == "created", (run.model, run.stdout)
    pulls = fake.pulls(OWNER, NAME)
    assert len(pulls) == len(MODELS)
    by_model = {p["head"]["ref"].rsplit("/", 1)[1]: p for p in pulls}
    assert sorted(by_model) == MODELS
    client = fake.client(TOKEN).get_repo(REPO)
    for model, pull in by_model.items():
        assert pull["title"] == f"Promote {model} 2 to {ENVIRONMENT}"
        files = {f.filename for f in client.get_pull(pull["number"]).get_files()}
        assert files == expected_files(model, "2"), model
        head = pull["head"]["sha"]
        assert bare_git(bare, "rev-parse", f"{head}~1") == seed  # one commit on the seed
        assert parse_trailers(bare_git(bare, "log", "-1", "--format=%B", head))["Model"] == model
        assert fake.issue_labels(OWNER, NAME, pull["number"]) == [
            "model-promotion",
            f"env:{ENVIRONMENT}",
        ]

    # Merge them one after another: each is a real three-way merge onto the moved base.
    for pull in sorted(pulls, key=lambda p: p["number"]):
        merge_pull(fake, REPO, pull["number"])
    main = fake.branch_sha(OWNER, NAME, "main")
    assert bare_git(bare, "rev-list", "--count", "--merges", f"{seed}..{main}") == str(len(MODELS))
    changed = set(bare_git(bare, "diff", "--name-only", seed, main).splitlines())
    assert changed == set().union(*(expected_files(m, "2") for m in MODELS))
    for model in MODELS:
        values = bare_git(bare, "show", f"{main}:{folder(model)}/values.yaml")
        assert values.startswith(f"# {model}: written by a person\n")
        assert 'tag: "2-abc1234"' in values and 'version: "2"' in values, model
    for path, text in NEIGHBOUR_FILES.items():
        assert bare_git(bare, "show", f"{main}:{path}") == text.strip("\n")
    assert all(p["state"] == "closed" and p["merged"] for p in fake.pulls(OWNER, NAME))


def test_two_runs_for_the_same_model_at_once_converge(fake: FakeGitHub, tmp_path: Path) -> None:
    """Both runs exit 0: the first to push reports `created`; the other either pushed the
    very same commit (then opening the PR finds it: `created` too) or lost the lease, read
    the branch again and found it holding its change (`unchanged`). Then both at once again
    with a newer version: one PR still, updated in place, said once."""
    bare = bare_path(fake)
    model = MODELS[0]
    seed = fake.branch_sha(OWNER, NAME, "main")

    for version, first_outcome in (("2", "created"), ("3", "updated")):
        runs = run_all(fake, tmp_path, [(model, version), (model, version)])
        for run in runs:
            assert run.code == 0, (run.stdout, run.stderr)
            assert run.stderr == "", run.stderr
        outcomes = sorted(run.outcome or "" for run in runs)
        assert first_outcome in outcomes, outcomes
        assert set(outcomes) <= {first_outcome, "created", "unchanged"}, outcomes

        (pull,) = fake.pulls(OWNER, NAME)
        tip = fake.branch_sha(OWNER, NAME, promote_branch(ENVIRONMENT, model))
        assert pull["head"]["sha"] == tip and pull["state"] == "open"
        assert pull["title"] == f"Promote {model} {version} to {ENVIRONMENT}"
        assert bare_git(bare, "rev-parse", f"{tip}~1") == seed
        changed = set(bare_git(bare, "diff", "--name-only", seed, tip).splitlines())
        assert changed == expected_files(model, version)
        values = bare_git(bare, "show", f"{tip}:{folder(model)}/values.yaml")
        assert f'tag: "{version}-abc1234"' in values and f'version: "{version}"' in values
        assert fake.issue_labels(OWNER, NAME, pull["number"]) == [
            "model-promotion",
            f"env:{ENVIRONMENT}",
        ]

        # The branch is exactly what a lone run would make: it says so and changes nothing.
        (again,) = run_all(fake, tmp_path, [(model, version)])
        assert again.code == 0 and again.outcome == "unchanged", again
        assert fake.branch_sha(OWNER, NAME, promote_branch(ENVIRONMENT, model)) == tip

    comments = [c["body"] for c in fake.comments(OWNER, NAME, pull["number"])]
    assert comments == [
        f"model-bot: superseded `2` by `3`; this pull request now promotes {model} `3` to "
        f"{ENVIRONMENT}."
    ]


def test_a_twin_run_superseding_at_the_same_moment_leaves_one_note(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    """Two runs supersede the same PR: each read the comments before the other wrote, so
    both post the note. The one whose note came second deletes it: one note stays. The twin
    is another GitHub client posting the very note just before this run posts its own."""
    from bot.adapters.github import Forge as GitHubForge
    from bot.adapters.github import ForgeSettings
    from bot.cli.session import session_opener
    from bot.core.pulls import CommentInfo
    from bot.flows.promote import PromoteOptions, promote
    from tests.envfixtures import (
        DEFAULT_POLICY_PATH,
        TOKEN,
        default_policy,
        evidence,
        github_target,
    )

    model = MODELS[0]
    (first,) = run_all(fake, tmp_path, [(model, "2")])
    assert first.code == 0, first

    class TwinPostsFirst(GitHubForge):
        def comment(self, number: int, body: str) -> CommentInfo:
            fake.client(TOKEN).get_repo(REPO).get_issue(number).create_comment(body)
            return super().comment(number, body)

    def forge(repo: str, token: str, api_url: str | None) -> GitHubForge:
        return TwinPostsFirst(ForgeSettings.from_env(repo, token, api_url))

    opener = session_opener(
        github_target(fake), base=None, token=TOKEN, workdir=tmp_path, forge_factory=forge
    )
    options = PromoteOptions(environment=ENVIRONMENT, policy_source=str(DEFAULT_POLICY_PATH))
    result = promote(evidence(model, "3"), default_policy(), options, opener)
    assert result.outcome == "updated", result.reason
    (pull,) = fake.pulls(OWNER, NAME)
    comments = [c["body"] for c in fake.comments(OWNER, NAME, pull["number"])]
    assert comments == [
        f"model-bot: superseded `2` by `3`; this pull request now promotes {model} `3` to "
        f"{ENVIRONMENT}."
    ]
