"""`model-bot init`: the scaffold of a new environment repo, checked, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.core.config import load_config
from bot.core.manifests import validate_manifest
from bot.core.scaffold import (
    APPLICATION_SET,
    ScaffoldOptions,
    application_set_text,
    scaffold_problems,
)
from tests.cli.test_render import ROOT, run

FILES = [
    ".model-bot.yaml",
    "argocd/applicationset.yaml",
    ".github/workflows/analyze.yml",
    ".github/workflows/chatops.yml",
    ".github/workflows/event.yml",
    "README.md",
]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_init_writes_the_scaffold_and_a_second_run_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "env-repo"
    code, out, err = run(
        capsys, "init", "--dir", str(repo), "--repo-url", "https://github.com/acme/env.git"
    )
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"created   {path}" for path in FILES] + ["outcome: created"]
    first = snapshot(repo)
    assert sorted(first) == sorted(FILES)

    code, out, _ = run(
        capsys, "init", "--dir", str(repo), "--repo-url", "https://github.com/acme/env.git"
    )
    assert code == 0
    assert out.splitlines() == [f"unchanged {path}" for path in FILES] + ["outcome: unchanged"]
    assert snapshot(repo) == first


def test_every_file_is_what_it_should_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", "--dir", str(tmp_path), "--repo-url", "https://github.com/acme/env.git")
    config = load_config(tmp_path)
    assert config.render.mode == "manifests"
    assert list(config.environments or {}) == ["staging", "production"]
    assert (config.environments or {})["staging"].next == ("production",)
    # the workflows are the ones we document, byte for byte (one text, not a copy)
    for name in ("analyze.yml", "chatops.yml", "event.yml"):
        shipped = (ROOT / "docs" / "workflows" / name).read_bytes()
        assert (tmp_path / ".github" / "workflows" / name).read_bytes() == shipped
    appset = YAML(typ="safe").load((tmp_path / APPLICATION_SET).read_text())
    assert validate_manifest(appset) == []
    generator = appset["spec"]["generators"][0]["git"]
    assert generator["repoURL"] == "https://github.com/acme/env.git"
    assert generator["directories"] == [{"path": "environments/*/*"}]
    source = appset["spec"]["template"]["spec"]["source"]
    assert source == {
        "repoURL": "https://github.com/acme/env.git",
        "targetRevision": "HEAD",
        "path": "{{ .path.path }}",
    }
    readme = (tmp_path / "README.md").read_text()
    assert "kubectl apply -f argocd/applicationset.yaml" in readme
    assert "render.mode: manifests" in readme


def test_a_file_someone_changed_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init", "--dir", str(tmp_path))
    mine = b"# our own README\n"
    (tmp_path / "README.md").write_bytes(mine)
    code, out, _ = run(capsys, "init", "--dir", str(tmp_path))
    assert code == 0
    assert "kept      README.md (differs from the scaffold: left as it is)" in out
    assert (tmp_path / "README.md").read_bytes() == mine


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo-url", "file:///etc"], "--repo-url: bad repository URL 'file:///etc'"),
        (["--environment", "Prod"], "--environment: bad environment"),
        (["--environment", "a", "--environment", "a"], "an environment is named twice"),
    ],
)
def test_bad_options_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    repo = tmp_path / "env-repo"
    code, _, err = run(capsys, "init", "--dir", str(repo), *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not repo.exists()


def test_the_checks_can_fail() -> None:
    good = application_set_text(ScaffoldOptions()).encode()
    assert scaffold_problems({APPLICATION_SET: good}) == []
    broken = good.replace(b"    - git:", b"    - gti:")
    problems = scaffold_problems({APPLICATION_SET: broken})
    assert problems and "unknown field 'gti'" in problems[0][1]
    config = scaffold_problems({".model-bot.yaml": b"render: {mode: helm}\n"})
    assert config and "render.mode" in config[0][1]
    workflow = scaffold_problems({".github/workflows/x.yml": b"name: x\n"})
    assert workflow == [(".github/workflows/x.yml", "a workflow needs on, jobs")]
