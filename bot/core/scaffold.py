"""The files `model-bot init` writes into a new environment repo, and their checks. Pure.

The set: `.model-bot.yaml` (render mode `manifests`, the environments), an Argo CD
ApplicationSet whose git directory generator makes one Application per
`environments/<environment>/<model>` folder, the GitHub workflows for analysis, ChatOps and
Argo Rollouts events (the bundled `docs/workflows/*.yml`, byte for byte), and a README for
the repo's users (`bot.text.envrepo`). Every file is checked before any is written:
the config as `.model-bot.yaml` is read, the ApplicationSet against Argo CD's CRD schema,
the workflows as YAML with `on` and `jobs`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.config import CONFIG_FILE, parse_config
from bot.core.errors import InvalidInput, Problem
from bot.core.manifests import validate_manifest
from bot.core.names import check_dns_label
from bot.core.yamledit import load_all, yaml_scalar

APPLICATION_SET = "argocd/applicationset.yaml"
WORKFLOWS = ("analyze.yml", "chatops.yml", "event.yml")  # bundled docs/workflows/ files
WORKFLOW_DIR = ".github/workflows"
README = "README.md"
MODELS_GLOB = "environments/*/*"
DEFAULT_REPO_URL = "https://github.com/OWNER/REPO.git"
_REPO_URL = re.compile(r"^(https://|ssh://|git@)[^\s\x00-\x1f\x7f'\"]+\Z")
# Argo Rollouts moves these weights during a rollout: Argo CD must not set them back.
ROLLOUTS_MANAGED_FIELDS = (
    ("networking.istio.io", "VirtualService", ".spec.http[].route[].weight"),
    ("gateway.networking.k8s.io", "HTTPRoute", ".spec.rules[].backendRefs[].weight"),
)


@dataclass(frozen=True)
class ScaffoldOptions:
    repo_url: str = DEFAULT_REPO_URL
    environments: tuple[str, ...] = ("staging", "production")
    argocd_namespace: str = "argocd"
    project: str = "default"


def check_options(options: ScaffoldOptions) -> None:
    problems: list[Problem] = []
    if not _REPO_URL.match(options.repo_url) or len(options.repo_url) > 2048:
        problems.append(
            Problem(
                "--repo-url",
                "",
                f"bad repository URL {options.repo_url!r}: the URL Argo CD clones, e.g. "
                "https://github.com/acme/env-repo.git",
            )
        )
    if not options.environments:
        problems.append(Problem("--environment", "", "give at least one environment"))
    for environment in options.environments:
        try:
            check_dns_label(environment, "environment")
        except ValueError as error:
            problems.append(Problem("--environment", "", str(error)))
    if len(set(options.environments)) != len(options.environments):
        problems.append(Problem("--environment", "", "an environment is named twice"))
    for field, value in (
        ("--argocd-namespace", options.argocd_namespace),
        ("--project", options.project),
    ):
        try:
            check_dns_label(value, field.lstrip("-"))
        except ValueError as error:
            problems.append(Problem(field, "", str(error)))
    if problems:
        raise InvalidInput(problems)


def config_text(options: ScaffoldOptions) -> str:
    lines = [
        "# model-bot configuration for this environment repo (schema: `model-bot schema config`).",
        "apiVersion: model-bot/v1",
        "kind: BotConfig",
        "render:",
        "  # manifests: the bot owns each environments/<environment>/<model>/ folder (Rollout,",
        "  # Services, routing, AnalysisTemplate, kustomization.yaml): Argo CD builds it as is.",
        "  mode: manifests",
        "environments:",
    ]
    names = options.environments
    for name, following in zip(names, (*names[1:], None), strict=True):
        if following is None:
            lines.append(f"  {name}: {{}}")
        else:
            lines.append(f"  {name}:  # advance promotes what soaked here to {following}")
            lines.append(f"    next: [{following}]")
    return "\n".join(lines) + "\n"


def application_set_text(options: ScaffoldOptions) -> str:
    url = yaml_scalar(options.repo_url)
    ignore = "\n".join(
        f"        - group: {group}\n          kind: {kind}\n          jqPathExpressions:\n"
        f"            - {yaml_scalar(path)}"
        for group, kind, path in ROLLOUTS_MANAGED_FIELDS
    )
    return f"""\
# One Argo CD Application per model folder: environments/<environment>/<model>/ holds a
# complete kustomize folder that model-bot renders (render.mode manifests); Argo CD builds it
# and syncs it into the namespace named like the environment. Apply once:
#   kubectl apply -n {options.argocd_namespace} -f {APPLICATION_SET}
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: model-bot-models
  namespace: {options.argocd_namespace}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
    - git:
        repoURL: {url}
        revision: HEAD
        directories:
          - path: {yaml_scalar(MODELS_GLOB)}
  template:
    metadata:
      name: '{{{{ index .path.segments 1 }}}}-{{{{ .path.basename }}}}'
      labels:
        app.kubernetes.io/managed-by: model-bot
    spec:
      project: {options.project}
      source:
        repoURL: {url}
        targetRevision: HEAD
        path: '{{{{ .path.path }}}}'
      destination:
        server: https://kubernetes.default.svc
        namespace: '{{{{ index .path.segments 1 }}}}'
      syncPolicy:
        automated:
          prune: true
          selfHeal: true
        syncOptions:
          - CreateNamespace=true
          - RespectIgnoreDifferences=true
      # Argo Rollouts sets the canary's weights on the router during a rollout.
      ignoreDifferences:
{ignore}
"""


def scaffold_files(
    options: ScaffoldOptions, workflows: Mapping[str, bytes], readme: str
) -> dict[str, bytes]:
    """Repo-relative path -> bytes of every file `init` writes, checked (`InvalidInput`)."""
    check_options(options)
    missing = [name for name in WORKFLOWS if name not in workflows]
    if missing:
        raise InvalidInput.one("docs/workflows", "", f"bundled workflows missing: {missing}")
    files = {
        CONFIG_FILE: config_text(options).encode(),
        APPLICATION_SET: application_set_text(options).encode(),
        **{f"{WORKFLOW_DIR}/{name}": workflows[name] for name in WORKFLOWS},
        README: readme.encode(),
    }
    problems = scaffold_problems(files)
    if problems:
        raise InvalidInput([Problem(path, "", message) for path, message in problems])
    return files


def scaffold_problems(files: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """(path, problem) of the scaffold's files that would not work where they go."""
    problems: list[tuple[str, str]] = []
    for path, data in files.items():
        try:
            if path == CONFIG_FILE:
                parse_config(data.decode(), path)
            elif path == APPLICATION_SET:
                docs = load_all(data, path)
                problems += [(path, p) for p in _object_problems(docs)]
            elif path.startswith(f"{WORKFLOW_DIR}/"):
                docs = load_all(data, path)
                problems += [(path, p) for p in _workflow_problems(docs)]
        except InvalidInput as error:
            problems += [
                (path, f"{p.field}: {p.message}" if p.field else p.message) for p in error.problems
            ]
        except UnicodeDecodeError:
            problems.append((path, "not UTF-8 text"))
    return problems


def _object_problems(docs: Sequence[Any]) -> list[str]:
    if len(docs) != 1 or not isinstance(docs[0], Mapping):
        return ["expected one ApplicationSet document"]
    return validate_manifest(dict(docs[0]))


def _workflow_problems(docs: Sequence[Any]) -> list[str]:
    if len(docs) != 1 or not isinstance(docs[0], Mapping):
        return ["expected one workflow document"]
    workflow = docs[0]
    # YAML 1.1 readers may turn the `on` key into True; ruamel (1.2) keeps "on".
    missing = [
        key
        for key in ("on", "jobs")
        if key not in workflow and not (key == "on" and True in workflow)
    ]
    return [f"a workflow needs {', '.join(missing)}"] if missing else []


__all__ = [
    "APPLICATION_SET",
    "DEFAULT_REPO_URL",
    "MODELS_GLOB",
    "README",
    "WORKFLOWS",
    "WORKFLOW_DIR",
    "ScaffoldOptions",
    "application_set_text",
    "check_options",
    "config_text",
    "scaffold_files",
    "scaffold_problems",
]
