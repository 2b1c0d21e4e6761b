"""`model-bot render --env-repo` reads the whole model folder when the render needs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_render import FOLDER, IMAGE, render_args, run


def test_a_workload_ref_rollout_gets_the_image_changed_in_the_deployment_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`needs_whole_folder`: the Rollout names a Deployment in another file of the folder,
    which `--env-repo` must read (before, it read only `candidate_paths` and failed)."""
    folder = tmp_path / FOLDER
    folder.mkdir(parents=True)
    rollout = (
        "# mine\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n"
        "  name: fraud-detector\nspec:\n  replicas: 2\n  workloadRef:\n"
        "    apiVersion: apps/v1\n    kind: Deployment\n    name: fraud-detector\n"
        "  strategy:\n    canary:\n      steps:\n        - setWeight: 20\n"
    )
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: fraud-detector\nspec:\n"
        "  replicas: 0\n  selector:\n    matchLabels: {app: fraud-detector}\n"
        "  template:\n    metadata:\n      labels: {app: fraud-detector}\n    spec:\n"
        f"      containers:\n        - name: model\n          image: {IMAGE}:v6  # bot\n"
    )
    (folder / "rollout.yaml").write_text(rollout)
    (folder / "deployment.yaml").write_text(deployment)
    code, out, err = run(capsys, *render_args("--env-repo", str(tmp_path), "--tag", "v7"))
    assert (code, err) == (0, "")
    assert out == f"{FOLDER}/deployment.yaml\noutcome: changed\n"
    assert (folder / "deployment.yaml").read_text() == deployment.replace(":v6", ":v7")
    assert (folder / "rollout.yaml").read_text() == rollout
