"""`model-bot render` end to end: files on disk, outputs, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.cli import main
from bot.core.render import HEADER

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "default.yaml"
IMAGE = "ghcr.io/acme/fraud-detector"
FOLDER = Path("environments/prod/fraud-detector")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    else:  # pragma: no cover - click always exits in standalone mode
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


def render_args(*extra: str, version: str = "7") -> list[str]:
    return [
        "render",
        "--model",
        "fraud-detector",
        "--version",
        version,
        "--environment",
        "prod",
        "--policy",
        str(POLICY),
        "--image",
        IMAGE,
        *extra,
    ]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_out_dir_first_run_changes_second_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *render_args("--out", str(tmp_path), "--validate"))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{FOLDER}/values.yaml",
        f"{FOLDER}/rollout.yaml",
        f"{FOLDER}/analysis-template.yaml",
        "outcome: changed",
    ]
    first = snapshot(tmp_path)
    assert all(data.startswith(HEADER.encode()) for data in first.values())
    code, out, err = run(capsys, *render_args("--out", str(tmp_path), "--validate"))
    assert (code, out, err) == (0, "outcome: unchanged\n", "")
    assert snapshot(tmp_path) == first


def test_env_repo_uses_its_config_and_templates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".model-bot.yaml").write_text(
        "environments:\n  prod:\n    namespace: ml-prod\n  staging: {}\n"
        "templates_dir: deploy/templates\n"
    )
    override = (
        (ROOT / "templates" / "values.yaml.j2")
        .read_text()
        .replace('"pullPolicy": "IfNotPresent"', '"pullPolicy": "Always"')
    )
    (tmp_path / "deploy" / "templates").mkdir(parents=True)
    (tmp_path / "deploy" / "templates" / "values.yaml.j2").write_text(override)
    code, out, err = run(capsys, *render_args("--env-repo", str(tmp_path)))
    assert (code, err) == (0, "")
    assert out.endswith("outcome: changed\n")
    values = YAML(typ="safe").load((tmp_path / FOLDER / "values.yaml").read_text())
    assert values["image"]["pullPolicy"] == "Always"
    rollout = YAML(typ="safe").load((tmp_path / FOLDER / "rollout.yaml").read_text())
    assert rollout["metadata"]["namespace"] == "ml-prod"


def test_new_version_changes_only_the_version_lines_of_a_hand_written_values_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / FOLDER
    folder.mkdir(parents=True)
    hand = "# mine\nimage:\n  repository: ghcr.io/acme/fraud-detector\n  tag: v6  # bot\nmodel:\n  version: '6'\n"
    (folder / "values.yaml").write_text(hand)
    code, out, _ = run(capsys, *render_args("--env-repo", str(tmp_path), "--tag", "v7"))
    assert code == 0 and f"{FOLDER}/values.yaml" in out.splitlines()
    assert (folder / "values.yaml").read_text() == hand.replace("v6", "v7").replace("'6'", "'7'")


def test_kustomize_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / FOLDER
    folder.mkdir(parents=True)
    (folder / "kustomization.yaml").write_text(
        f"resources: [rollout.yaml]\nimages:\n- name: {IMAGE}\n  newTag: v6\n"
    )
    (folder / "rollout.yaml").write_text("# mine\n")
    code, out, _ = run(capsys, *render_args("--env-repo", str(tmp_path), "--tag", "v7"))
    assert (code, out) == (0, f"{FOLDER}/kustomization.yaml\noutcome: changed\n")
    assert (folder / "rollout.yaml").read_text() == "# mine\n"
    assert "newTag: v7" in (folder / "kustomization.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (render_args(), "model-bot: error: --env-repo: pass exactly one of"),
        (
            render_args("--out", "a", "--env-repo", "b"),
            "model-bot: error: --env-repo: pass exactly",
        ),
        (
            [a if a != "fraud-detector" else "Fraud: {{x}}" for a in render_args("--out", ".")],
            "model-bot: error: --model: bad model name",
        ),
        (render_args("--out", ".", "--tag", "a:b"), "model-bot: error: --tag: bad image tag"),
        (render_args("--out", ".", version="../7"), "model-bot: error: --version: bad version"),
        (
            render_args("--out", ".", "--image", "ghcr.io/acme/x:7"),
            "model-bot: error: --image: bad image repository",
        ),
        (
            render_args("--out", ".", "--model-uri", "s3://x\ny"),
            "model-bot: error: --model-uri: bad model URI",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    start: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(start), err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_unknown_environment_and_missing_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".model-bot.yaml").write_text("environments:\n  staging: {}\n")
    code, _, err = run(capsys, *render_args("--env-repo", str(tmp_path)))
    assert code == 2
    assert err == (
        "model-bot: error: --environment: unknown environment 'prod' (known: staging; add "
        "it under environments in .model-bot.yaml)\n"
    )
    args = render_args("--out", str(tmp_path / "o"))
    args[args.index(str(POLICY))] = str(tmp_path / "none.yaml")
    code, _, err = run(capsys, *args)
    assert code == 2 and "policy file not found" in err


def test_validate_refuses_an_invalid_override_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    override = (
        (ROOT / "templates" / "rollout.yaml.j2").read_text().replace("  replicas:", "  replicaz:")
    )
    (tmp_path / ".model-bot" / "templates").mkdir(parents=True)
    (tmp_path / ".model-bot" / "templates" / "rollout.yaml.j2").write_text(override)
    code, out, err = run(capsys, *render_args("--env-repo", str(tmp_path), "--validate"))
    assert code == 2 and out == ""
    assert err == (
        f"model-bot: error: --validate: {FOLDER}/rollout.yaml: Rollout fraud-detector: spec: "
        "unknown field 'replicaz' (remove it or fix its spelling)\n"
    )
    assert not (tmp_path / "environments").exists()


def test_validate_does_not_block_on_a_persons_untouched_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / FOLDER
    folder.mkdir(parents=True)
    mine = "# mine, not valid yet\nkind: AnalysisTemplate\nmetadata: {name: X}\n"
    (folder / "analysis-template.yaml").write_text(mine)
    code, out, err = run(capsys, *render_args("--env-repo", str(tmp_path), "--validate"))
    assert (code, err) == (0, "")
    assert f"{FOLDER}/analysis-template.yaml" not in out
    assert (folder / "analysis-template.yaml").read_text() == mine


def test_a_symlink_out_of_the_repo_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "environments").mkdir(parents=True)
    outside.mkdir()
    (repo / "environments" / "prod").symlink_to(outside)
    code, _, err = run(capsys, *render_args("--env-repo", str(repo)))
    assert code == 2 and "leads outside" in err
    assert list(outside.iterdir()) == []


def test_installed_command_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *render_args("--out", str(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("outcome: changed\n")


def test_a_broken_query_template_names_the_policy_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        POLICY.read_text(encoding="utf-8").replace("{{ model }}", "{{ modle }}", 1),
        encoding="utf-8",
    )
    args = render_args("--out", str(tmp_path / "out"))
    args[args.index(str(POLICY))] = str(policy)
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"model-bot: error: {policy}: analysis.metrics[0].query: "), err
    assert "'modle' is undefined" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
