"""A kustomize folder after the bot's edit still builds with real `kubectl kustomize`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.core.config import BotConfig
from bot.core.manifests import validate_file
from bot.core.render import read_current_version, render_change
from tests.core.test_render import IMAGE, make_request
from tests.core.test_render_routing import CASES, render_case
from tests.k8sschemas import object_problems

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl not on PATH: kustomize build test skipped"
)

FOLDER = "environments/prod/fraud-detector"

KUSTOMIZATION = """\
# Kustomize overlay for fraud-detector in prod. Written by the platform team.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ml-prod

resources:
  - rollout.yaml   # hand-written Rollout
  - service.yaml

images:
  # model-bot updates newTag below on each promotion
  - name: ghcr.io/acme/fraud-detector
    newTag: "6-9e8d7c6"
  - name: envoyproxy/envoy
    newTag: v1.30.1
"""

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 2
  selector:
    matchLabels: {app: fraud-detector}
  template:
    metadata:
      labels: {app: fraud-detector}
    spec:
      containers:
        - name: server
          image: ghcr.io/acme/fraud-detector
        - name: envoy
          image: envoyproxy/envoy
  strategy:
    canary:
      steps:
        - setWeight: 50
        - pause: {duration: 10m}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: fraud-detector
spec:
  selector: {app: fraud-detector}
  ports: [{port: 80, targetPort: 8080}]
"""


def kustomize(folder: Path) -> list[dict[str, object]]:
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [d for d in YAML(typ="safe").load_all(result.stdout) if d]


def images(docs: list[dict[str, object]]) -> list[str]:
    rollout = next(d for d in docs if d["kind"] == "Rollout")
    containers = rollout["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    return [c["image"] for c in containers]


@pytest.mark.parametrize("set_new_name", [False, True])
def test_kustomize_builds_after_the_edit_and_shows_the_new_tag(
    tmp_path: Path, set_new_name: bool
) -> None:
    folder = tmp_path / FOLDER
    folder.mkdir(parents=True)
    files = {"kustomization.yaml": KUSTOMIZATION, "rollout.yaml": ROLLOUT, "service.yaml": SERVICE}
    for name, text in files.items():
        (folder / name).write_text(text)
    assert images(kustomize(folder)) == [f"{IMAGE}:6-9e8d7c6", "envoyproxy/envoy:v1.30.1"]

    existing = {f"{FOLDER}/{name}": (folder / name).read_bytes() for name in files}
    if set_new_name:  # the manifests name the image; the bot points it at a new repository
        settings = {"kustomize": {"image": IMAGE, "set_new_name": True}}
        repository = "registry.example.com/acme/fraud-detector"
    else:
        settings, repository = {}, IMAGE
    config = BotConfig.model_validate(settings)
    change = render_change(make_request(config=config, image_repository=repository), existing)
    assert change.mode == "kustomize"
    assert list(change.changed) == [f"{FOLDER}/kustomization.yaml"]
    for path, data in change.changes.items():
        (tmp_path / path).write_bytes(data)

    built = kustomize(folder)
    assert images(built) == [f"{repository}:7-3f2a1c9", "envoyproxy/envoy:v1.30.1"]
    rollout = next(d for d in built if d["kind"] == "Rollout")
    assert rollout["metadata"]["namespace"] == "ml-prod"  # type: ignore[index]
    new = (folder / "kustomization.yaml").read_text()
    assert new.startswith("# Kustomize overlay for fraud-detector in prod.")
    assert "  # model-bot updates newTag below on each promotion\n" in new
    assert (folder / "rollout.yaml").read_text() == ROLLOUT
    assert read_current_version(
        {f"{FOLDER}/kustomization.yaml": new.encode()}, config, image_repository=IMAGE
    ) == ("7-3f2a1c9", "7-3f2a1c9")


def test_rendered_files_build_as_a_kustomize_base(tmp_path: Path) -> None:
    """Bot-rendered manifests are plain Kubernetes YAML that kustomize reads as they are."""
    change = render_change(make_request(), {})
    for path, data in change.files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    folder = tmp_path / FOLDER
    (folder / "kustomization.yaml").write_text(
        "resources: [rollout.yaml, analysis-template.yaml]\n"
    )
    built = kustomize(folder)
    assert [d["kind"] for d in built] == ["AnalysisTemplate", "Rollout"]
    assert images(built) == [f"{IMAGE}:7-3f2a1c9"]
    out = YAML(typ="safe")
    for doc in built:
        path = tmp_path / f"{doc['kind']}.yaml"
        with path.open("w") as stream:
            out.dump(doc, stream)
        assert validate_file(path.read_bytes(), path.name) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_manifests_folder_builds_with_kubectl_kustomize(tmp_path: Path, name: str) -> None:
    """render.mode manifests: the bot's folder is complete; kustomize builds it as it is, and
    every object it builds is valid (CRDs and Kubernetes' own schemas)."""
    files = render_case(name)
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    built = kustomize(tmp_path / FOLDER)
    written = [d for path in files for d in YAML(typ="safe").load_all(files[path]) if d]
    objects = [d for d in written if d["kind"] != "Kustomization"]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in built) == sorted(
        (d["kind"], d["metadata"]["name"]) for d in objects
    )
    for doc in built:
        assert object_problems(doc) == [], doc["kind"]
