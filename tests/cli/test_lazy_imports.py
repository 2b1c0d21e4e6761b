"""Commands that do not need MLflow, GitHub, git or Prometheus never import their clients
(each costs up to a second of start-up); `--help` does not import numpy either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADAPTERS = {"mlflow", "github", "git", "prometheus_api_client"}
PROBE = """
import json, os, sys
from bot.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exit_:
    code = exit_.code
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({"code": code, "modules": sorted(m.split(".")[0] for m in sys.modules)}, out)
"""


def loaded(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    out = tmp_path / "probe.json"
    env = {**os.environ, "PROBE_OUT": str(out)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("GITHUB_OUTPUT", None)
    subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    data = json.loads(out.read_text())
    return data["code"], set(data["modules"])


@pytest.mark.parametrize(
    ("args", "also_absent"),
    [
        (["--help"], {"numpy", "pydantic", "jinja2", "ruamel"}),
        (["gate", "--help"], {"numpy"}),
        (
            [
                "gate",
                "--results",
                "examples/gate-results.json",
                "--policy",
                "policies/default.yaml",
            ],
            {"numpy"},
        ),
        (
            [
                "gate",
                "--results",
                "examples/gate-results.json",
                "--policy",
                "policies/production.yaml",
            ],
            set(),
        ),
        (["policy", "check", "policies/default.yaml"], {"numpy"}),
        (["schema", "gate-results"], {"numpy"}),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_no_adapter_imports(tmp_path: Path, args: list[str], also_absent: set[str]) -> None:
    code, modules = loaded(tmp_path, *args)
    assert code in (0, None)
    assert not (ADAPTERS | also_absent) & modules


def test_the_probe_sees_mlflow_when_it_is_used(tmp_path: Path) -> None:
    code, modules = loaded(
        tmp_path,
        "gate",
        "--mlflow-model",
        "models:/m/1",
        "--tracking-uri",
        "http://127.0.0.1:9",
        "--policy",
        "policies/default.yaml",
    )
    assert code == 2
    assert "mlflow" in modules
