#!/usr/bin/env bash
# Run model-bot as the GitHub Action (action.yml).
#
#   action-run.sh --check   validate the inputs `command` and `dry-run`, run nothing
#   action-run.sh           run `model-bot COMMAND ...` and exit with its exit code
#
# action.yml passes every input as an environment variable (INPUT_COMMAND, INPUT_ENV_REPO,
# ...; the token as GITHUB_TOKEN). This script only turns them into one argument array, as
# `--flag=value` words, and runs the CLI with it: nothing is evaluated, so an input such as
# `$(touch /tmp/x); rm -rf /` reaches model-bot as that literal text. Empty inputs add no flag
# and leave the CLI's default. model-bot itself validates the values, writes the step outputs
# to $GITHUB_OUTPUT and the report to $GITHUB_STEP_SUMMARY; this script writes neither.
#
# Exit codes are model-bot's: 0 done or passed, 1 gate or analysis failed (monitor: a model
# drifted), 2 bad input, 3 analysis (or monitoring) inconclusive. Relative paths are relative to the working directory, which for
# an action's steps is $GITHUB_WORKSPACE.
set -euo pipefail

# The workflow-command escaping of a message: one line, read back as written.
escape() {
  local text="${1//'%'/%25}"
  text="${text//$'\r'/%0D}"
  printf '%s' "${text//$'\n'/%0A}"
}

# fail INPUT MESSAGE: report a bad input as an error annotation and on stderr, exit 2.
fail() {
  local message
  message="$(escape "input $1: $2")"
  printf '::error title=model-bot::%s\n' "$message"
  printf 'model-bot: error: %s\n' "$message" >&2
  exit 2
}

command="${INPUT_COMMAND:-}"
case "$command" in
  gate | promote | analyze | rollback | chatops | status | history | event | advance | monitor) ;;
  *) fail command "unknown command '$command' (use gate, promote, analyze, rollback, chatops, status, history, event, advance or monitor)" ;;
esac

# The YAML 1.2 core schema's booleans, as core.getBooleanInput reads them.
case "${INPUT_DRY_RUN:-false}" in
  true | True | TRUE) dry_run=true ;;
  false | False | FALSE) dry_run=false ;;
  *) fail dry-run "got '${INPUT_DRY_RUN}', use true or false" ;;
esac
case "${INPUT_REOPEN:-false}" in
  true | True | TRUE) reopen=true ;;
  false | False | FALSE) reopen=false ;;
  *) fail reopen "got '${INPUT_REOPEN}', use true or false" ;;
esac

# commit-mode: read by every command that writes commits (MODEL_BOT_COMMIT_MODE, the
# environment variable of --commit-mode); empty leaves the choice to .model-bot.yaml.
case "${INPUT_COMMIT_MODE:-}" in
  '') ;;
  git | api) export MODEL_BOT_COMMIT_MODE="$INPUT_COMMIT_MODE" ;;
  *) fail commit-mode "got '${INPUT_COMMIT_MODE}', use git or api" ;;
esac

if [ "${1:-}" = --check ]; then
  exit 0
fi

args=("$command")

# option FLAG VALUE: add `FLAG=VALUE` when VALUE is not empty. The `=` form keeps a value
# that starts with `-` a value.
option() {
  if [ -n "$2" ]; then
    args+=("$1=$2")
  fi
}

# The candidate for gate/promote: a gate results file, or else an MLflow registry version.
evidence() {
  if [ -n "${INPUT_GATE_RESULTS:-}" ]; then
    option --results "$INPUT_GATE_RESULTS"
  else
    option --mlflow-model "${INPUT_MODEL:-}"
    option --mlflow-version "${INPUT_VERSION:-}"
    option --tracking-uri "${INPUT_MLFLOW_TRACKING_URI:-}"
  fi
}

summary() {
  option --summary-file "${GITHUB_STEP_SUMMARY:-}"
}

forge() {
  option --env-repo "${INPUT_ENV_REPO:-}"
  option --base "${INPUT_BASE_BRANCH:-}"
  option --github-api-url "${INPUT_GITHUB_API_URL:-}"
}

dry_run() {
  if [ "$dry_run" = true ]; then
    args+=(--dry-run)
  fi
}

case "$command" in
  gate)
    evidence
    option --policy "${INPUT_POLICY:-}"
    option --environment "${INPUT_ENVIRONMENT:-}"
    summary
    ;;
  promote)
    evidence
    option --policy "${INPUT_POLICY:-}"
    option --environment "${INPUT_ENVIRONMENT:-}"
    option --lift-hold "${INPUT_LIFT_HOLD:-}"
    option --drift-issue "${INPUT_DRIFT_ISSUE:-}"
    if [ "$reopen" = true ]; then
      args+=(--reopen)
    fi
    forge
    dry_run
    summary
    ;;
  status)
    option --environment "${INPUT_ENVIRONMENT:-}"
    option --policy "${INPUT_POLICY:-}"
    forge
    ;;
  history)
    option --model "${INPUT_MODEL:-}"
    option --environment "${INPUT_ENVIRONMENT:-}"
    forge
    ;;
  advance)
    option --from "${INPUT_ENVIRONMENT:-}"
    option --model "${INPUT_MODEL:-}"
    option --policy "${INPUT_POLICY:-}"
    option --prometheus-url "${INPUT_PROMETHEUS_URL:-}"
    forge
    dry_run
    ;;
  event)
    option --event-path "${GITHUB_EVENT_PATH:-}"
    option --event-name "${GITHUB_EVENT_NAME:-}"
    option --tracking-uri "${INPUT_MLFLOW_TRACKING_URI:-}"
    forge
    if [ -n "${INPUT_POLICY:-}" ] && [ -f "$INPUT_POLICY" ]; then
      option --policy "$INPUT_POLICY"
    fi
    dry_run
    ;;
  monitor)
    option --model "${INPUT_MODEL:-}"
    option --environment "${INPUT_ENVIRONMENT:-}"
    option --policy "${INPUT_POLICY:-}"
    option --prometheus-url "${INPUT_PROMETHEUS_URL:-}"
    forge
    dry_run
    ;;
  analyze)
    option --model "${INPUT_MODEL:-}"
    option --environment "${INPUT_ENVIRONMENT:-}"
    option --policy "${INPUT_POLICY:-}"
    option --prometheus-url "${INPUT_PROMETHEUS_URL:-}"
    forge
    dry_run
    ;;
  rollback)
    option --model "${INPUT_MODEL:-}"
    option --environment "${INPUT_ENVIRONMENT:-}"
    option --to "${INPUT_VERSION:-}"
    option --reason "${INPUT_REASON:-}"
    forge
    dry_run
    ;;
  chatops)
    option --event-path "${GITHUB_EVENT_PATH:-}"
    option --env-repo "${INPUT_ENV_REPO:-}"
    option --github-api-url "${INPUT_GITHUB_API_URL:-}"
    # The policy is optional here: pass it only where the file is (the default path may
    # not exist in the repository whose comments trigger chatops).
    if [ -n "${INPUT_POLICY:-}" ] && [ -f "$INPUT_POLICY" ]; then
      option --policy "$INPUT_POLICY"
    fi
    ;;
esac

bot="${MODEL_BOT:-${RUNNER_TEMP:?RUNNER_TEMP is not set}/model-bot-venv/bin/model-bot}"
status=0
"$bot" "${args[@]}" || status=$?
exit "$status"
