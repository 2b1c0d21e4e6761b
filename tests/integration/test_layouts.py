"""End to end, one environment-repo layout people really have per case, in local mode.

For each layout: seed a folder a person wrote, promote version 6 and merge, promote 7 and
merge, run `model-bot analyze` against a real Prometheus whose canary fails (it proposes the
revert 7 -> 6) and merge, then roll back `--to` the version the person
had (the revert of the first promotion) and merge. Every promotion changes exactly the
lines it must (the diff lines are asserted), the merged revert gives back the folder of
version 6 byte for byte, and the last one gives back the person's folder byte for byte. Kustomize folders are
also built with the real `kubectl kustomize` after each promotion.

The layouts: a Helm values file without a model version key (and no image flag: the
repository comes from the values file), a hand-written canary Rollout, a hand-written
blue-green Rollout in a multi-document file (a Docker Hub image named without `docker.io`,
a TAB before a comment), a Rollout with `workloadRef`, a kustomize overlay with and without
an `images:` entry, and a digest-pinned image.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.cli.session import session_opener
from bot.core.evidence import Evidence
from bot.core.rollback import RollbackOptions, RollbackResult
from bot.core.target import EnvRepoTarget
from bot.core.trailers import parse_trailers
from bot.flows.promote import PromoteOptions, PromoteResult, promote
from bot.flows.rollback import rollback
from tests.envfixtures import (
    CONFIG,
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    NEIGHBOUR,
    bare_git,
    commit_message,
    default_policy,
    folder,
    folder_blobs,
    local_env_repo,
    merge_branch,
    run_cli,
)
from tests.realparts.openmetrics import Scenario, Traffic
from tests.realparts.prometheus import PrometheusServer

pytestmark = pytest.mark.slow

MODEL = "fraud-detector"
DIR = folder(MODEL)
OLD_DIGEST = "sha256:" + "a" * 64
NEW_DIGEST = "sha256:" + "b" * 64
KUBECTL = shutil.which("kubectl")
ROLLBACK_BRANCH = f"model-bot/rollback/{ENVIRONMENT}/{MODEL}"


@pytest.fixture(scope="module")
def failing_canary(prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    """A real Prometheus where a quarter of the model's canary requests fail: the policy's
    error rate (at most 1% of the canary's) and the hand-written templates' success rate (at
    least 95% of all requests, canary and stable) both fail."""
    return prometheus_factory(scenarios=[Scenario(MODEL, canary=Traffic(error_ratio=0.25))])


@dataclass(frozen=True)
class Layout:
    files: Mapping[str, str]  # file name in the model's folder -> text the person wrote
    seed_version: str  # what the folder declares before the bot touches it
    tags: tuple[str, str]  # the image tags of versions 6 and 7 (a tag may carry @digest)
    edited: str  # the person's file the promotions edit
    first: list[str]  # diff lines of the promotion of 6 (`git diff --unified=0`, folder only)
    second: list[str]  # diff lines of the promotion of 7
    image: str | None = "ghcr.io/acme/fraud-detector"  # the evidence's model.image
    config: str = ""  # added to .model-bot.yaml
    added: tuple[str, ...] = ()  # files the first promotion adds (the bot's own)
    built: tuple[str, str] | None = None  # kustomize: the model image built after 6 and 7


HELM_VALUES = """\
# Helm values for fraud-detector, written by the team. The chart reads no model version.
image:
  repository: ghcr.io/acme/fraud-detector   # CI pushes here
  tag: "v0.0.1"
  pullPolicy: IfNotPresent
replicaCount: 2
"""

CANARY = """\
# fraud-detector canary, written by the platform team
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 4
  revisionHistoryLimit: 5
  rollbackWindow: {revisions: 3}
  selector:
    matchLabels: {app: fraud-detector}
  template:
    metadata:
      labels: {app: fraud-detector}
    spec:
      containers:
        - name: envoy   # sidecar, not the model
          image: envoyproxy/envoy:v1.30.1
        - name: model
          image: ghcr.io/acme/fraud-detector:v0.0.1   # bumped by model-bot
          ports: [{containerPort: 8080}]
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {duration: 5m}
        - analysis:
            templates: [{templateName: success-rate}]
"""

CANARY_ANALYSIS = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  metrics:
    - name: success-rate
      successCondition: result[0] >= 0.95
      provider:
        prometheus:
          address: http://prometheus.monitoring:9090
          query: sum(rate(http_requests_total{code!~"5.."}[2m])) / sum(rate(http_requests_total[2m]))
"""

BLUE_GREEN = """\
# The demo app, blue-green. Three documents: two Services and the Rollout.
apiVersion: v1
kind: Service
metadata:
  name: fraud-detector
spec:
  selector: {app: fraud-detector}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: fraud-detector-preview
spec:
  selector: {app: fraud-detector}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 2\t# two pods
  rollbackWindow:
    revisions: 2
  selector:
    matchLabels:
      app: fraud-detector
  template:
    metadata:
      labels:
        app: fraud-detector
    spec:
      containers:
      - name: fraud-detector
        image: argoproj/rollouts-demo:blue\t# the demo image, from Docker Hub
  strategy:
    blueGreen:
      activeService: fraud-detector
      previewService: fraud-detector-preview
      autoPromotionEnabled: false
"""

WORKLOAD_ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 3
  rollbackWindow: {revisions: 3}
  selector:
    matchLabels: {app: fraud-detector}
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: fraud-detector
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
"""

WORKLOAD_DEPLOYMENT = """\
# The Deployment Argo Rollouts takes the pod template from (scaled to 0 by the Rollout).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: fraud-detector
spec:
  replicas: 0
  selector:
    matchLabels: {app: fraud-detector}
  template:
    metadata:
      labels: {app: fraud-detector}
    spec:
      containers:
        - name: model
          image: "ghcr.io/acme/fraud-detector:v0.0.1"
"""

KUSTOMIZE_ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 2
  rollbackWindow: {revisions: 3}
  selector:
    matchLabels: {app: fraud-detector}
  template:
    metadata:
      labels: {app: fraud-detector}
    spec:
      containers:
        - name: server
          image: ghcr.io/acme/fraud-detector:v0.0.1
        - name: envoy
          image: envoyproxy/envoy
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {duration: 10m}}]
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

KUSTOMIZATION_WITH_IMAGES = """\
# Kustomize overlay for fraud-detector. Written by the platform team.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ml-prod

resources:
  - rollout.yaml   # hand-written Rollout
  - service.yaml

images:
  # model-bot updates newTag below on each promotion
  - name: ghcr.io/acme/fraud-detector
    newTag: v0.0.1
  - name: envoyproxy/envoy
    newTag: v1.30.1
"""

KUSTOMIZATION_WITHOUT_IMAGES = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - rollout.yaml
  - service.yaml
"""

DIGEST_ROLLOUT = CANARY.replace(
    "ghcr.io/acme/fraud-detector:v0.0.1   # bumped by model-bot",
    f"ghcr.io/acme/fraud-detector:v0.0.1@{OLD_DIGEST}   # pinned",
)

LAYOUTS = {
    "helm-values-without-model-version": Layout(
        files={"values.yaml": HELM_VALUES},
        config="value_keys: {model_version: null}\n",
        image=None,  # the values file names the repository
        edited="values.yaml",
        seed_version="v0.0.1",
        tags=("v0.0.6", "v0.0.7"),
        added=("analysis-template.yaml", "rollout.yaml"),
        first=['-  tag: "v0.0.1"', '+  tag: "v0.0.6"'],
        second=[  # the bot's own Rollout and AnalysisTemplate carry the version too
            '-    app.kubernetes.io/version: "6"',  # analysis-template.yaml
            '+    app.kubernetes.io/version: "7"',
            '-    app.kubernetes.io/version: "6"',  # rollout.yaml
            '+    app.kubernetes.io/version: "7"',
            '-        app.kubernetes.io/version: "6"',
            '+        app.kubernetes.io/version: "7"',
            '-          image: "ghcr.io/acme/fraud-detector:v0.0.6"',
            '+          image: "ghcr.io/acme/fraud-detector:v0.0.7"',
            '-              value: "6"',
            '+              value: "7"',
            '-              value: "models:/fraud-detector/6"',
            '+              value: "models:/fraud-detector/7"',
            '-  tag: "v0.0.6"',  # values.yaml: the tag only
            '+  tag: "v0.0.7"',
        ],
    ),
    "hand-written-canary-rollout": Layout(
        files={"rollout.yaml": CANARY, "success-rate.yaml": CANARY_ANALYSIS},
        edited="rollout.yaml",
        seed_version="v0.0.1",
        tags=("v0.0.6", "v0.0.7"),
        first=[
            "-          image: ghcr.io/acme/fraud-detector:v0.0.1   # bumped by model-bot",
            "+          image: ghcr.io/acme/fraud-detector:v0.0.6   # bumped by model-bot",
        ],
        second=[
            "-          image: ghcr.io/acme/fraud-detector:v0.0.6   # bumped by model-bot",
            "+          image: ghcr.io/acme/fraud-detector:v0.0.7   # bumped by model-bot",
        ],
    ),
    "hand-written-blue-green-multi-document": Layout(
        files={"rollout.yaml": BLUE_GREEN},
        image="docker.io/argoproj/rollouts-demo",
        edited="rollout.yaml",
        seed_version="blue",
        tags=("yellow", "green"),
        first=[
            "-        image: argoproj/rollouts-demo:blue\t# the demo image, from Docker Hub",
            "+        image: argoproj/rollouts-demo:yellow\t# the demo image, from Docker Hub",
        ],
        second=[
            "-        image: argoproj/rollouts-demo:yellow\t# the demo image, from Docker Hub",
            "+        image: argoproj/rollouts-demo:green\t# the demo image, from Docker Hub",
        ],
    ),
    "rollout-with-workload-ref": Layout(
        files={"rollout.yaml": WORKLOAD_ROLLOUT, "deployment.yaml": WORKLOAD_DEPLOYMENT},
        edited="deployment.yaml",
        seed_version="v0.0.1",
        tags=("v0.0.6", "v0.0.7"),
        first=[
            '-          image: "ghcr.io/acme/fraud-detector:v0.0.1"',
            '+          image: "ghcr.io/acme/fraud-detector:v0.0.6"',
        ],
        second=[
            '-          image: "ghcr.io/acme/fraud-detector:v0.0.6"',
            '+          image: "ghcr.io/acme/fraud-detector:v0.0.7"',
        ],
    ),
    "kustomize-with-images-entry": Layout(
        files={
            "kustomization.yaml": KUSTOMIZATION_WITH_IMAGES,
            "rollout.yaml": KUSTOMIZE_ROLLOUT,
            "service.yaml": SERVICE,
        },
        edited="kustomization.yaml",
        seed_version="v0.0.1",
        tags=("v0.0.6", "v0.0.7"),
        first=["-    newTag: v0.0.1", "+    newTag: v0.0.6"],
        second=["-    newTag: v0.0.6", "+    newTag: v0.0.7"],
        built=("ghcr.io/acme/fraud-detector:v0.0.6", "ghcr.io/acme/fraud-detector:v0.0.7"),
    ),
    "kustomize-without-images-entry": Layout(
        files={
            "kustomization.yaml": KUSTOMIZATION_WITHOUT_IMAGES,
            "rollout.yaml": KUSTOMIZE_ROLLOUT,
            "service.yaml": SERVICE,
        },
        edited="kustomization.yaml",
        seed_version="v0.0.1",
        tags=("v0.0.6", "v0.0.7"),
        first=["+images:", "+  - name: ghcr.io/acme/fraud-detector", "+    newTag: v0.0.6"],
        second=["-    newTag: v0.0.6", "+    newTag: v0.0.7"],
        built=("ghcr.io/acme/fraud-detector:v0.0.6", "ghcr.io/acme/fraud-detector:v0.0.7"),
    ),
    "digest-pinned-image": Layout(
        files={"rollout.yaml": DIGEST_ROLLOUT, "success-rate.yaml": CANARY_ANALYSIS},
        edited="rollout.yaml",
        seed_version="v0.0.1",
        tags=("v0.0.6", f"v0.0.7@{NEW_DIGEST}"),  # 6 has no digest: the stale one goes
        first=[
            f"-          image: ghcr.io/acme/fraud-detector:v0.0.1@{OLD_DIGEST}   # pinned",
            "+          image: ghcr.io/acme/fraud-detector:v0.0.6   # pinned",
        ],
        second=[
            "-          image: ghcr.io/acme/fraud-detector:v0.0.6   # pinned",
            f"+          image: ghcr.io/acme/fraud-detector:v0.0.7@{NEW_DIGEST}   # pinned",
        ],
    ),
}


# --------------------------------------------------------------------------- helpers


def evidence(layout: Layout, version: str) -> Evidence:
    model: dict[str, str] = {
        "name": MODEL,
        "version": version,
        "tag": {"6": layout.tags[0], "7": layout.tags[1]}.get(version, f"v0.0.{version}"),
    }
    if layout.image is not None:
        model["image"] = layout.image
    return Evidence.model_validate(
        {
            "model": model,
            "metrics": {"accuracy": 0.95, "latency_p99_ms": 8.0, "safety_violations": 0},
            "lineage": {"code_commit": "3f2a1c9", "run_id": f"run-{version}"},
        }
    )


def opener(bare: Path, work: Path) -> Any:
    return session_opener(EnvRepoTarget("local", str(bare)), base=None, token=None, workdir=work)


def promote_and_merge(bare: Path, work: Path, layout: Layout, version: str) -> PromoteResult:
    options = PromoteOptions(
        environment=ENVIRONMENT, policy_source=str(DEFAULT_POLICY_PATH), local=True
    )
    result = promote(evidence(layout, version), default_policy(), options, opener(bare, work))
    assert result.outcome in ("created", "updated"), (result.outcome, result.reason)
    assert result.branch is not None
    merge_branch(bare, result.branch)
    return result


def rollback_and_merge(bare: Path, work: Path, to: str | None = None) -> RollbackResult:
    options = RollbackOptions(model=MODEL, environment=ENVIRONMENT, to_version=to)
    result = rollback(options, opener(bare, work))
    assert result.outcome in ("created", "updated"), (result.outcome, result.reason)
    merge_branch(bare, result.branch)
    return result


def diff(bare: Path, before: str, after: str, paths: list[str] | None = None) -> list[str]:
    """The changed lines of the model's folder (or of `paths`) between two commits."""
    out = subprocess.run(
        ["git", f"--git-dir={bare}", "diff", "--unified=0", before, after, "--", *(paths or [DIR])],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [
        line
        for line in out.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def pairwise_lines(lines: list[str]) -> list[tuple[str, str]]:
    """`-old`, `+new` line pairs (the promotions here replace lines one for one)."""
    assert [line[0] for line in lines] == ["-", "+"] * (len(lines) // 2)
    return [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]


def names(bare: Path, before: str, after: str) -> list[str]:
    out = bare_git(bare, "diff", "--name-status", before, after)
    return sorted(out.splitlines())


def trailers(bare: Path, ref: str) -> dict[str, str]:
    """The trailers of the newest commit touching the model's folder at `ref`."""
    sha = bare_git(bare, "log", "-1", "--format=%H", ref, "--", DIR)
    return parse_trailers(commit_message(bare, sha))


def built_image(bare: Path, commit: str, tmp_path: Path) -> str:
    """`kubectl kustomize` of the folder at `commit`: the Rollout's first container image."""
    assert KUBECTL is not None
    out = tmp_path / f"build-{commit[:12]}"
    for path in folder_blobs(bare, commit, DIR):
        target = out / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(
                ["git", f"--git-dir={bare}", "show", f"{commit}:{path}"],
                capture_output=True,
                check=True,
            ).stdout
        )
    built = subprocess.run(
        [KUBECTL, "kustomize", str(out)], capture_output=True, text=True, check=False, timeout=60
    )
    assert built.returncode == 0, built.stderr
    docs = [d for d in YAML(typ="safe").load_all(built.stdout) if d]
    rollout = next(d for d in docs if d["kind"] == "Rollout")
    return str(rollout["spec"]["template"]["spec"]["containers"][0]["image"])


# --------------------------------------------------------------------------- the cycle


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_promote_merge_analyze_revert_restores_the_folder(
    name: str, failing_canary: PrometheusServer, tmp_path: Path
) -> None:
    layout = LAYOUTS[name]
    if layout.built is not None and KUBECTL is None:
        pytest.skip("kubectl not on PATH: the kustomize layouts need `kubectl kustomize`")
    files = {f"{DIR}/{n}": text.encode() for n, text in layout.files.items()}
    files[".model-bot.yaml"] = (CONFIG + layout.config).encode()
    bare = local_env_repo(tmp_path / "env.git", files)
    work = tmp_path / "work"
    work.mkdir()
    seed = bare_git(bare, "rev-parse", "main")
    tag6, tag7 = (tag.partition("@")[0] for tag in layout.tags)

    # Promote 6 over what the person wrote: only the lines that name the image change.
    first = promote_and_merge(bare, work, layout, "6")
    assert first.previous_version == layout.seed_version
    after6 = bare_git(bare, "rev-parse", "main")
    assert diff(bare, seed, after6, [f"{DIR}/{n}" for n in layout.files]) == layout.first
    assert names(bare, seed, after6) == sorted(
        [
            f"A\treports/{ENVIRONMENT}/{MODEL}/6.md",
            f"A\treports/{ENVIRONMENT}/{MODEL}/6.evidence.json",  # what `advance` re-gates
            f"M\t{DIR}/{layout.edited}",
        ]
        + [f"A\t{DIR}/{n}" for n in layout.added]
    )
    assert trailers(bare, after6) == {
        "Model": MODEL,
        "Model-Version": "6",
        "Previous-Version": layout.seed_version,
        "Environment": ENVIRONMENT,
        "Action": "promote",
        "Image": layout.image or "ghcr.io/acme/fraud-detector",
        "Image-Tag": tag6,
        "Previous-Image-Tag": layout.seed_version,
        "Gate": f"PASS 4/4 gates (policy {DEFAULT_POLICY_PATH})",
        "MLflow-Run": "run-6",
        "Code-Commit": "3f2a1c9",
    }

    # Promote 7 over the bot's 6: the version the folder declares is the recorded 6.
    second = promote_and_merge(bare, work, layout, "7")
    assert second.previous_version == "6"
    assert second.title == f"Promote {MODEL} 7 to {ENVIRONMENT}"
    after7 = bare_git(bare, "rev-parse", "main")
    assert diff(bare, after6, after7) == layout.second
    recorded = trailers(bare, after7)
    assert (recorded["Model-Version"], recorded["Previous-Version"]) == ("7", "6")
    assert (recorded["Image-Tag"], recorded["Previous-Image-Tag"]) == (tag7, tag6)
    if layout.built is not None:
        assert built_image(bare, after6, tmp_path) == layout.built[0]
        assert built_image(bare, after7, tmp_path) == layout.built[1]

    # The canary of 7 fails its analysis: `analyze` proposes the revert 7 -> 6; merged, the
    # folder is 6's byte for byte.
    analysis = run_cli(
        "analyze",
        "--model",
        MODEL,
        "--environment",
        ENVIRONMENT,
        "--policy",
        DEFAULT_POLICY_PATH,
        "--env-repo",
        bare,
        "--prometheus-url",
        failing_canary.url,
        "--at",
        str(failing_canary.now),
        token=None,
        tmp_path=tmp_path,
    )
    assert analysis.exit_code == 1, analysis.stdout
    assert "verdict: FAIL" in analysis.stdout
    assert f"Roll back {MODEL} in {ENVIRONMENT}: 7 → 6" in analysis.stdout
    assert analysis.outputs["outcome"] == "created"
    merge_branch(bare, ROLLBACK_BRANCH)
    reverted = bare_git(bare, "rev-parse", "main")
    assert folder_blobs(bare, reverted, DIR) == folder_blobs(bare, after6, DIR)
    undone = [(f"-{new[1:]}", f"+{old[1:]}") for old, new in pairwise_lines(layout.second)]
    assert diff(bare, after7, reverted) == [line for pair in undone for line in pair]
    recorded = trailers(bare, reverted)
    assert (recorded["Action"], recorded["Model-Version"], recorded["Previous-Version"]) == (
        "rollback",
        "6",
        "7",
    )
    assert (recorded["Image-Tag"], recorded["Previous-Image-Tag"]) == (tag6, tag7)

    # The bot knows it rolled back; back to what the person had (a restore), byte for byte.
    again = rollback(RollbackOptions(model=MODEL, environment=ENVIRONMENT), opener(bare, work))
    assert (again.outcome, again.method) == ("unchanged", "none")
    assert "was already rolled back to 6" in again.reason
    home = rollback_and_merge(bare, work, to=layout.seed_version)
    assert (home.from_version, home.to_version, home.method) == (
        "6",
        layout.seed_version,
        "revert",  # of the first promotion: the folder was not changed since
    )
    restored = bare_git(bare, "rev-parse", "main")
    assert folder_blobs(bare, restored, DIR) == folder_blobs(bare, seed, DIR)
    assert folder_blobs(bare, restored, folder(NEIGHBOUR)) == folder_blobs(
        bare, seed, folder(NEIGHBOUR)
    )


def test_a_kustomize_first_promotion_rolls_back_to_what_the_person_had(tmp_path: Path) -> None:
    """The defect: `Previous-Version: v0.0.1`, `Model-Version: 7`, and rollback said the
    folder was changed by hand. Now the folder's version is the recorded 7."""
    layout = LAYOUTS["kustomize-with-images-entry"]
    files = {f"{DIR}/{n}": text.encode() for n, text in layout.files.items()}
    bare = local_env_repo(tmp_path / "env.git", files)
    work = tmp_path / "work"
    work.mkdir()
    seed = bare_git(bare, "rev-parse", "main")
    promoted = promote_and_merge(bare, work, layout, "7")
    assert promoted.previous_version == "v0.0.1"
    back = rollback_and_merge(bare, work)
    assert (back.from_version, back.to_version, back.method) == ("7", "v0.0.1", "revert")
    assert folder_blobs(bare, bare_git(bare, "rev-parse", "main"), DIR) == folder_blobs(
        bare, seed, DIR
    )


def test_to_a_version_the_bot_never_recorded_restores_the_folder(tmp_path: Path) -> None:
    """`--to` the tag a person had, two promotions back: found by reading the folder at each
    commit (no trailer names it as a model version), restored byte for byte."""
    layout = LAYOUTS["kustomize-without-images-entry"]
    files = {f"{DIR}/{n}": text.encode() for n, text in layout.files.items()}
    bare = local_env_repo(tmp_path / "env.git", files)
    work = tmp_path / "work"
    work.mkdir()
    seed = bare_git(bare, "rev-parse", "main")
    promote_and_merge(bare, work, layout, "6")
    promote_and_merge(bare, work, layout, "7")
    home = rollback_and_merge(bare, work, to="v0.0.1")
    assert (home.from_version, home.to_version, home.method) == ("7", "v0.0.1", "restore")
    restored = bare_git(bare, "rev-parse", "main")
    assert folder_blobs(bare, restored, DIR) == folder_blobs(bare, seed, DIR)
    recorded = trailers(bare, restored)
    assert (recorded["Model-Version"], recorded["Previous-Version"]) == ("v0.0.1", "7")
    assert (recorded["Image-Tag"], recorded["Previous-Image-Tag"]) == ("v0.0.1", "v0.0.7")
    # And forward again: the bot reads the person's tag as the version it stands for.
    again = promote_and_merge(bare, work, layout, "8")
    assert again.previous_version == "v0.0.1"
