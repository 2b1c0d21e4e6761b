#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian/Ubuntu machine, then run lint, format
# check, type check and every test. The README's test command and CI's `.ci/run` call this.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Real Prometheus for the analysis tests (Debian's package; the service is not started).
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq prometheus >/dev/null
fi
# kubectl is optional: the kustomize test skips with a notice where it is missing.

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check uv
.venv/bin/uv pip install -q --python .venv/bin/python --compile-bytecode -e '.[test]'

echo "== ruff"
.venv/bin/ruff check bot tests benchmarks
.venv/bin/ruff format --check bot tests benchmarks
echo "== mypy"
.venv/bin/mypy
echo "== import layers"
.venv/bin/lint-imports
echo "== pytest"
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" -q "$@"
