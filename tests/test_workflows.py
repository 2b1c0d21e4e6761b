"""The workflows we ship and document, and action.yml, as contracts.

Validates every workflow (this repository's `.github/workflows`, the user workflows in
`docs/workflows`, and every ```yaml workflow block of README.md) against the
GitHub workflow schema, and action.yml against the action schema, with `check-jsonschema`
(offline). Then checks what a schema cannot: no `${{ }}` inside `run:`, third-party actions
pinned by commit SHA with a version comment, least-privilege `permissions:`, a `concurrency:`
group for every job that runs model-bot, and documented inputs and outputs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
ACTION = REPO / "action.yml"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
READMES = (REPO / "README.md",)
USER_WORKFLOWS = sorted((REPO / "docs" / "workflows").glob("*.yml"))
REPO_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))

# Where the docs use this action, they name it by this placeholder (README.md tells
# readers to put their own OWNER/model-promotion-bot@<commit SHA>).
BOT_PLACEHOLDER = "acme/model-promotion-bot@v1"
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*['\"]?([^'\"\s#]+)['\"]?\s*(#.*)?$")
WORKFLOW_BLOCK = re.compile(r"^jobs:", re.MULTILINE)
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Workflow:
    id: str
    text: str
    user: bool  # a workflow we give users (docs/workflows, README snippets)

    @property
    def data(self) -> dict[str, Any]:
        loaded = YAML(typ="safe").load(self.text)
        assert isinstance(loaded, dict), self.id
        return loaded


def yaml_blocks(markdown: str) -> list[str]:
    return YAML_BLOCK.findall(markdown)


def _workflows() -> list[Workflow]:
    found = [Workflow(str(p.relative_to(REPO)), p.read_text(), False) for p in REPO_WORKFLOWS]
    found += [Workflow(str(p.relative_to(REPO)), p.read_text(), True) for p in USER_WORKFLOWS]
    for readme in READMES:
        if readme.exists():
            for number, block in enumerate(yaml_blocks(readme.read_text()), 1):
                if not WORKFLOW_BLOCK.search(block):
                    continue  # a policy or config example, not a workflow
                found.append(Workflow(f"{readme.name}#yaml-{number}", block, True))
    return found


WORKFLOWS = _workflows()
USER = [w for w in WORKFLOWS if w.user]


def _ids(items: list[Workflow]) -> list[str]:
    return [w.id for w in items]


def _check_jsonschema(schema: str, files: list[Path]) -> dict[str, list[str]]:
    """Errors by file name, from one run of check-jsonschema over all `files`."""
    done = subprocess.run(
        [str(CHECK_JSONSCHEMA), "-o", "json", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"check-jsonschema did not answer in JSON: {done.stdout}{done.stderr}")
    errors: dict[str, list[str]] = {}
    for error in report.get("errors", []) + report.get("parse_errors", []):
        best = error.get("best_deep_match") or error
        errors.setdefault(error["filename"], []).append(f"{best['path']}: {best['message']}")
    return errors


@pytest.fixture(scope="module")
def schema_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    folder = tmp_path_factory.mktemp("workflows")
    files = {}
    for number, workflow in enumerate(WORKFLOWS):
        path = folder / f"{number}.yml"
        path.write_text(workflow.text)
        files[str(path)] = workflow.id
    errors = _check_jsonschema("vendor.github-workflows", [Path(p) for p in files])
    return {files[name]: found for name, found in errors.items()}


def test_the_docs_have_workflows() -> None:
    assert {p.name for p in USER_WORKFLOWS} >= {"promote.yml", "analyze.yml", "chatops.yml"}
    assert {p.name for p in REPO_WORKFLOWS} >= {"ci.yml", "self-test.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_ids(WORKFLOWS))
def test_workflow_matches_the_schema(
    workflow: Workflow, schema_errors: dict[str, list[str]]
) -> None:
    assert schema_errors.get(workflow.id, []) == []


def test_action_yml_matches_the_schema() -> None:
    assert _check_jsonschema("vendor.github-actions", [ACTION]) == {}


def test_the_schema_check_catches_a_bad_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs_on: ubuntu-latest\n    steps: []\n")
    assert _check_jsonschema("vendor.github-workflows", [bad]) != {}


def _steps(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "runs" in data:
        yield from data["runs"].get("steps", [])
    for job in (data.get("jobs") or {}).values():
        yield from job.get("steps", [])


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_ids(WORKFLOWS))
def test_no_expressions_inside_run(workflow: Workflow) -> None:
    for step in _steps(workflow.data):
        assert "${{" not in step.get("run", ""), f"{step.get('name')}: pass it through env:"


def test_no_expressions_inside_the_actions_run_steps() -> None:
    action = YAML(typ="safe").load(ACTION.read_text())
    runs = [step for step in _steps(action) if "run" in step]
    assert len(runs) >= 3
    for step in runs:
        assert "${{" not in step["run"], step["name"]
        assert step["shell"] == "bash"


def _uses(text: str) -> list[tuple[str, str]]:
    """Every `uses:` in a workflow or action file, with its trailing comment."""
    found = []
    for line in text.splitlines():
        match = USES_LINE.match(line)
        if match:
            found.append((match.group(1), (match.group(2) or "").strip()))
    return found


@pytest.mark.parametrize(
    ("name", "text"),
    [(w.id, w.text) for w in WORKFLOWS] + [("action.yml", ACTION.read_text())],
    ids=[*_ids(WORKFLOWS), "action.yml"],
)
def test_third_party_actions_are_pinned_by_sha_with_a_version_comment(name: str, text: str) -> None:
    uses = _uses(text)
    data = YAML(typ="safe").load(text)
    parsed = [step["uses"] for step in _steps(data) if "uses" in step]
    parsed += [job["uses"] for job in (data.get("jobs") or {}).values() if "uses" in job]
    assert [action for action, _ in uses] == parsed, "one `uses:` a line, please"
    for action, comment in uses:
        if action.startswith("./") or action == BOT_PLACEHOLDER:
            continue
        assert PINNED.fullmatch(action), f"{name}: pin {action} by its commit SHA"
        assert re.fullmatch(r"#\s*v\d+(\.\d+)*", comment), f"{name}: {action} needs # vX.Y.Z"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_ids(WORKFLOWS))
def test_every_workflow_sets_permissions(workflow: Workflow) -> None:
    data = workflow.data
    assert "permissions" in data, "set the token's default permissions at the top"
    # the workflow-wide default only reads; jobs ask for what they write
    assert data["permissions"] in ({"contents": "read"}, {}), data["permissions"]


def _bot_jobs(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, job)
        for name, job in data["jobs"].items()
        if any(str(step.get("uses", "")).startswith(BOT_PLACEHOLDER) for step in job["steps"])
    ]


@pytest.mark.parametrize("workflow", USER, ids=_ids(USER))
def test_user_workflows_run_the_bot_one_at_a_time(workflow: Workflow) -> None:
    jobs = _bot_jobs(workflow.data)
    assert jobs, "a user workflow runs model-bot"
    for name, job in jobs:
        concurrency = job.get("concurrency") or workflow.data.get("concurrency")
        assert concurrency, f"{name}: add a concurrency group per model and environment"
        assert concurrency["group"].startswith("model-bot-")
        assert concurrency["cancel-in-progress"] is False, "never cancel a half-done promotion"
        assert "permissions" in job, f"{name}: give the job the permissions it needs"


def test_the_self_test_uses_this_action() -> None:
    data = YAML(typ="safe").load((REPO / ".github/workflows/self-test.yml").read_text())
    steps = data["jobs"]["promote"]["steps"]
    bot = next(step for step in steps if step.get("uses") == "./")
    assert bot["with"]["command"] == "promote"
    assert bot["with"]["dry-run"] == "true"
    assert bot["with"]["environment"] == "production"


def test_ci_runs_the_readme_test_command() -> None:
    data = YAML(typ="safe").load((REPO / ".github/workflows/ci.yml").read_text())
    runs = [step.get("run", "") for step in data["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in runs


def test_action_inputs_are_described_with_defaults() -> None:
    action = YAML(typ="safe").load(ACTION.read_text())
    for name, spec in action["inputs"].items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name), f"{name}: use kebab-case"
        assert spec.get("description", "").strip(), f"input {name}: describe it"
        assert "default" in spec, f"input {name}: give it a default"
        assert spec.get("required", False) is False, f"input {name}: the default makes it optional"


@pytest.mark.parametrize(
    ("output", "values"),
    [
        ("decision", ["pass", "fail"]),
        ("outcome", ["created", "updated", "unchanged", "blocked"]),
        ("verdict", ["pass", "fail", "inconclusive"]),
        ("pull-request-number", []),
        ("pull-request-url", []),
        ("report-path", []),
    ],
)
def test_action_outputs_are_described(output: str, values: list[str]) -> None:
    spec = YAML(typ="safe").load(ACTION.read_text())["outputs"][output]
    assert spec["value"] == f"${{{{ steps.run.outputs.{output} }}}}"
    for value in values:
        assert re.search(rf"\b{value}\b", spec["description"]), f"{output}: list {value}"


def test_readme_shows_the_user_workflows_byte_for_byte() -> None:
    blocks = yaml_blocks((REPO / "README.md").read_text())
    for path in USER_WORKFLOWS:
        assert path.read_text() in blocks, f"paste {path.name} into README.md again"


def test_readme_workflows_match_their_files_once_pasted() -> None:
    readme = REPO / "README.md"
    blocks = yaml_blocks(readme.read_text()) if readme.exists() else []
    for path in USER_WORKFLOWS:
        text = path.read_text()
        header = text.splitlines()[0]
        for block in blocks:
            if block.splitlines()[:1] == [header]:
                assert block == text, f"README.md's copy of {path.name} differs from the file"


def test_readme_documents_every_input_and_output() -> None:
    text = (REPO / "README.md").read_text()
    action = YAML(typ="safe").load(ACTION.read_text())
    for name in [*action["inputs"], *action["outputs"]]:
        assert re.search(rf"^\| `{re.escape(name)}` \|", text, re.MULTILINE), name


def test_action_masks_the_token_before_anything_else() -> None:
    first = YAML(typ="safe").load(ACTION.read_text())["runs"]["steps"][0]
    assert first["env"]["MODEL_BOT_TOKEN"] == "${{ inputs.github-token }}"
    assert first["run"].splitlines()[0] == (
        'if [ -n "$MODEL_BOT_TOKEN" ]; then echo "::add-mask::$MODEL_BOT_TOKEN"; fi'
    )


def test_action_caches_the_venv_it_installs() -> None:
    steps = YAML(typ="safe").load(ACTION.read_text())["runs"]["steps"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore@"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    install = next(s for s in steps if s.get("id") == "install")
    assert steps.index(restore) < steps.index(install) < steps.index(save)
    assert restore["with"]["path"] == save["with"]["path"]
    assert "${{ runner.temp }}/model-bot-venv" in restore["with"]["path"].splitlines()
    key = restore["with"]["key"]
    for part in ("runner.os", "steps.python.outputs.python-version", "steps.key.outputs.deps"):
        assert part in key
    assert save["with"]["key"] == "${{ steps.cache.outputs.cache-primary-key }}"
    assert save["if"] == "steps.cache.outputs.cache-hit != 'true'"
