#!/usr/bin/env bash
# Install model-bot for the GitHub Action (action.yml) into its own virtualenv.
#
#   action-install.sh --key   write step output `deps` (hash of pyproject.toml) for the cache key
#   action-install.sh         create, update or reuse $RUNNER_TEMP/model-bot-venv
#
# The venv holds uv (installed with the outer Python's pip) and the bot, installed non-editable
# from $GITHUB_ACTION_PATH with bytecode compiled at install time. A marker file in the venv
# records the Python, the dependency hash and a hash of the bot's sources: a venv restored from
# the cache is reused as it is when all three match, gets only the bot reinstalled when the
# sources changed, and is built anew otherwise.
#
# Step outputs: executable, status (reused|updated|created), install-seconds,
# venv-size-bytes. The same facts go to $RUNNER_TEMP/model-bot-install.json for benchmarks.
#
# Environment: MODEL_BOT_PYTHON (the interpreter to build the venv from; default python3),
# GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_OUTPUT; MODEL_BOT_UV_CACHE_DIR overrides the uv cache
# ($RUNNER_TEMP/model-bot-uv-cache, which action.yml caches).
set -euo pipefail

python="${MODEL_BOT_PYTHON:-python3}"
source_dir="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
temp="${RUNNER_TEMP:?RUNNER_TEMP is not set}"
output="${GITHUB_OUTPUT:-/dev/null}"

# The marker: the Python, a sha256 of pyproject.toml (the dependencies) and one of every file
# the bot's wheel is built from (bytecode caches left out). `--key` prints the second alone.
fingerprint() {
  "$python" - "$source_dir" "$@" <<'PY'
import hashlib
import os
import sys

root, key_only = sys.argv[1], sys.argv[2:] == ["--key"]


def digest(*names):
    sha = hashlib.sha256()
    for name in names:
        path = os.path.join(root, name)
        if os.path.isdir(path):
            files = sorted(
                os.path.join(folder, file)
                for folder, _, found in os.walk(path)
                if "__pycache__" not in folder.split(os.sep)
                for file in found
                if not file.endswith(".pyc")
            )
        else:
            files = [path] if os.path.exists(path) else []
        for file in files:
            sha.update(os.path.relpath(file, root).encode() + b"\0")
            with open(file, "rb") as handle:
                sha.update(handle.read())
            sha.update(b"\0")
    return sha.hexdigest()


deps = digest("pyproject.toml")
if key_only:
    print(deps)
else:
    print(f"python={sys.version.split()[0]} {sys.platform} {sys.implementation.name}")
    print(f"deps={deps}")
    print(f"source={digest('pyproject.toml', 'README.md', 'bot', 'templates', 'policies')}")
PY
}

if [ "${1:-}" = --key ]; then
  echo "deps=$(fingerprint --key)" >>"$output"
  exit 0
fi

now() { "$python" -c 'import time; print(f"{time.time():.3f}")'; }
started="$(now)"

venv="$temp/model-bot-venv"
marker="$venv/.model-bot-marker"
export UV_CACHE_DIR="${MODEL_BOT_UV_CACHE_DIR:-$temp/model-bot-uv-cache}"

want="$(fingerprint)"
have="$(cat "$marker" 2>/dev/null || true)"

# venv_has MODULE...: the venv's Python runs and imports them, isolated from the working
# directory and PYTHON* variables (a restored venv whose Python moved away does not).
venv_has() {
  local IFS=,
  [ -x "$venv/bin/python" ] && "$venv/bin/python" -I -c "import $*" 2>/dev/null
}

if [ "$have" = "$want" ] && venv_has uv bot; then
  status=reused
elif [ "$(head -n 2 <<<"$have")" = "$(head -n 2 <<<"$want")" ] && venv_has uv; then
  status=updated # same Python and dependencies: reinstall the bot alone
  "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --compile-bytecode \
    --reinstall-package model-promotion-bot "$source_dir"
else
  status=created
  rm -rf "$venv"
  # No pip in the venv (ensurepip alone takes about 5 s): the outer pip (>= 22.3) puts uv in.
  # A Python without such a pip gets a venv with pip, which installs uv.
  "$python" -m venv --without-pip "$venv"
  if ! "$python" -m pip --python "$venv/bin/python" install --quiet \
    --disable-pip-version-check uv 2>/dev/null; then
    "$python" -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv
  fi
  "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --compile-bytecode \
    "$source_dir"
fi
printf '%s\n' "$want" >"$marker"

version="$("$venv/bin/model-bot" --version)"
finished="$(now)"
read -r seconds size < <("$python" - "$venv" "$started" "$finished" "$status" "$temp" <<'PY'
import json
import os
import sys

venv, started, finished, status, temp = sys.argv[1:]
seconds = round(float(finished) - float(started), 2)
size = sum(
    os.lstat(os.path.join(folder, name)).st_size
    for folder, dirs, files in os.walk(venv)
    for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]
)
facts = {"status": status, "seconds": seconds, "venv_bytes": size, "venv": venv}
with open(os.path.join(temp, "model-bot-install.json"), "w", encoding="utf-8") as handle:
    json.dump(facts, handle)
    handle.write("\n")
print(f"{seconds:.2f}", size)
PY
)
{
  echo "executable=$venv/bin/model-bot"
  echo "status=$status"
  echo "install-seconds=$seconds"
  echo "venv-size-bytes=$size"
} >>"$output"
echo "$version: $status in ${seconds}s, venv $((size / 1048576)) MiB at $venv"
