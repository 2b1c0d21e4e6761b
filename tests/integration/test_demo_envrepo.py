"""`model-bot demo` builds its env repo with `model-bot init`: every model folder, before and
after the promotion, builds with real `kubectl kustomize` into valid objects, and the
ApplicationSet validates against Argo CD's CRD."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.core.manifests import validate_manifest
from bot.core.scaffold import APPLICATION_SET
from tests.cli.test_render import run
from tests.integration.test_kustomize import KUBECTL, kustomize
from tests.k8sschemas import object_problems

pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl not on PATH: kustomize build test skipped"
)
BRANCH = "model-bot/promote/production/fraud-detector"


def checkout(repo: Path, ref: str, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", ref, str(repo), str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


def model_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("environments/*/*") if p.is_dir())


def test_the_demo_env_repo_builds_per_model_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "env-repo"
    code, out, err = run(capsys, "demo", "--dir", str(repo))
    assert code == 0, err
    assert "decision: PASS" in out

    appset = YAML(typ="safe").load((repo / APPLICATION_SET).read_text())
    assert validate_manifest(appset) == []
    assert (repo / ".github" / "workflows" / "chatops.yml").is_file()

    for ref in ("main", BRANCH):
        tree = checkout(repo, ref, tmp_path / ref.replace("/", "-"))
        folders = model_folders(tree)
        assert [f.relative_to(tree).as_posix() for f in folders] == [
            "environments/production/fraud-detector"
        ]
        for folder in folders:
            built = kustomize(folder)
            assert sorted(d["kind"] for d in built) == ["AnalysisTemplate", "Rollout", "Service"]
            for doc in built:
                assert object_problems(doc) == [], (ref, doc["kind"])
            rollout = next(d for d in built if d["kind"] == "Rollout")
            image = rollout["spec"]["template"]["spec"]["containers"][0]["image"]
            expected = "7-3f2a1c9" if ref == BRANCH else "6"
            assert image == f"ghcr.io/acme/fraud-detector:{expected}"

    # a second demo run reuses the repo and changes nothing
    code, out, _ = run(capsys, "demo", "--dir", str(repo))
    assert code == 0
    assert f"demo env repo: {repo} (reused)" in out
    assert "outcome: unchanged" in out
