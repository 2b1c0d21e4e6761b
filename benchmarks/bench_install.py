"""The action's install step: time and size of a fresh venv (warm uv cache), as the runner does it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 30.0  # a cold install with a warm uv cache; uv's figure is ~1.5 s plus bytecode
TARGET_BYTES = 400 * 1024 * 1024


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-install-") as temp:
        env = {
            **os.environ,
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": temp,
            "MODEL_BOT_PYTHON": sys.executable,
            # Reuse the developer's uv cache: the action caches its own between runs.
            "MODEL_BOT_UV_CACHE_DIR": os.environ.get(
                "UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")
            ),
        }
        env.pop("GITHUB_OUTPUT", None)
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "action-install.sh")],
            env=env,
            check=True,
            capture_output=True,
        )
        facts = json.loads((Path(temp) / "model-bot-install.json").read_text())
    seconds = float(facts["seconds"])
    size = int(facts["venv_bytes"])
    return [
        {
            "name": "action install step (fresh venv, warm uv cache)",
            "value": round(seconds, 1),
            "unit": "s",
            "target": f"< {TARGET_SECONDS:g} s",
            "passed": seconds < TARGET_SECONDS,
        },
        {
            "name": "action venv size",
            "value": round(size / 1024 / 1024),
            "unit": "MiB",
            "target": f"< {TARGET_BYTES // 1024 // 1024} MiB",
            "passed": size < TARGET_BYTES,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
