"""The README `model-bot init` writes for the people who use a new environment repo. Pure."""

from __future__ import annotations

from bot.core.scaffold import APPLICATION_SET, MODELS_GLOB, WORKFLOW_DIR, WORKFLOWS, ScaffoldOptions


def env_repo_readme(options: ScaffoldOptions) -> str:
    environments = ", ".join(f"`{name}`" for name in options.environments)
    workflows = "\n".join(f"- `{WORKFLOW_DIR}/{name}`" for name in WORKFLOWS)
    first = options.environments[0]
    return f"""\
# Environment repository

What runs where: Argo CD deploys every folder `{MODELS_GLOB}` (environment, then model) of
this repository. model-bot changes these folders only through pull requests; a merge is a
deployment, a revert is a rollback. Environments: {environments}.

## Layout

- `.model-bot.yaml`: how model-bot works here (`model-bot schema config` lists every field).
  `render.mode: manifests` means model-bot renders each model folder completely: the Argo
  Rollouts `Rollout`, the `Service`s it needs, the traffic router's objects when the policy
  names one (`routing.yaml`), the `AnalysisTemplate` and a `kustomization.yaml`. Files that
  start with `# Managed by model-bot` are rewritten on every promotion: change the policy or
  `.model-bot/templates/` instead.
- `{APPLICATION_SET}`: the Argo CD ApplicationSet. Its git directory generator makes one
  Application per model folder, named `<environment>-<model>`, synced into the namespace
  named like the environment. Apply it once: `kubectl apply -f {APPLICATION_SET}`. It tells
  Argo CD to leave the router's weights to Argo Rollouts (`ignoreDifferences`).
- `reports/`: the evaluation report of every promotion, committed beside the change.

## Workflows

{workflows}

They run model-bot on a schedule (canary analysis), on `/rollback` comments (ChatOps) and on
Argo Rollouts notifications (`repository_dispatch`). Replace `acme/model-promotion-bot@v1`
with the action's repository and a commit SHA, and give the workflows the secrets they name.

## Promoting a model

From the model's training repository, run the action with `command: promote`, or locally:

    model-bot promote --results gate-results.json --policy policy.yaml \\
      --environment {first} --env-repo OWNER/REPO

The pull request states the decision, the gates, and the rollout plan as the committed
Rollout says it: the canary steps, the real traffic split (exact with a traffic router; the
pod split without one), any shadow phase, and how to roll back. Check a folder locally with
`kubectl kustomize {MODELS_GLOB.replace("*/*", f"{first}/<model>")}`.
"""


__all__ = ["env_repo_readme"]
