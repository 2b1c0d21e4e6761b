"""A real MLflow tracking server for the test session (pytest plugin).

`mlflow_server` starts `mlflow server` once per session on 127.0.0.1 with a sqlite backend
and proxied artifacts in a temporary directory (lean: one worker, no job execution; see
NOTES.md), waits until `/health` answers, yields its URI and stops the process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

READY_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mlflow_executable() -> str:
    beside = Path(sys.executable).parent / "mlflow"
    if beside.exists():
        return str(beside)
    found = shutil.which("mlflow")
    if found is None:
        pytest.skip("the mlflow server is not installed (pip install -e '.[test]')")
    return found


def _ready(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its worker(s), by group id
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def start_mlflow_server(root: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a server with its state under `root`; return its URI and process when ready."""
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    artifacts = root / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log = (root / "server.log").open("wb")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = [
        _mlflow_executable(),
        "server",
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    log.close()
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{tail}")
        if _ready(uri):
            return uri, process
        time.sleep(0.25)
    _stop(process)
    tail = (root / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"mlflow server not ready after {READY_TIMEOUT:.0f}s:\n{tail}")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI (`http://127.0.0.1:PORT`) of a real MLflow tracking server."""
    root = tmp_path_factory.mktemp("mlflow-server")
    uri, process = start_mlflow_server(root)
    try:
        yield uri
    finally:
        _stop(process)
