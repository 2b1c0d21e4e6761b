"""render.mode values end to end: after `model-bot promote` the model's folder differs from
before only in the declared keys of its values file; nothing is added beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepos import example_env_repo, git
from tests.integration.test_promote_local import BRANCH, MODEL_DIR, VALUES, promote

pytestmark = pytest.mark.slow

CHART_FILES = {  # what a Helm chart user keeps beside the values: the bot must not touch it
    f"{MODEL_DIR}/Chart.yaml": "apiVersion: v2\nname: fraud-detector\nversion: 1.4.0\n",
    f"{MODEL_DIR}/rollout.yaml": "# rendered by our chart, not by model-bot\nkind: Rollout\n",
}


def test_promote_in_values_mode_changes_only_the_declared_keys(tmp_path: Path) -> None:
    repo = example_env_repo(tmp_path / "env-repo")
    config = repo / ".model-bot.yaml"
    config.write_text(config.read_text() + "render:\n  mode: values\n")
    for path, text in CHART_FILES.items():
        (repo / path).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "values mode")

    result = promote(str(repo))
    assert result.exit_code == 0, result.stderr

    changed = git(repo, "diff", "--name-only", "main", BRANCH).splitlines()
    in_folder = [p for p in changed if p.startswith(f"{MODEL_DIR}/")]
    assert in_folder == [VALUES]  # nothing added, nothing else edited
    assert all(p == VALUES or p.startswith("reports/") for p in changed)
    diff = git(repo, "diff", "--unified=0", "main", BRANCH, "--", VALUES).splitlines()
    edits = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert edits == [
        '-  tag: "6-9b1e0d2"   # bumped by model-bot on promotion',
        '+  tag: "7-3f2a1c9"   # bumped by model-bot on promotion',
        '-  version: "6"',
        '+  version: "7"',
    ]
