"""The registry follows what is deployed (bot.core.registry): alias plans and version tags,
and the `registry` section of `.model-bot.yaml`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.config import config_json_schema, parse_config
from bot.core.errors import InvalidInput
from bot.core.evidence import load_evidence
from bot.core.gate import Decision, evaluate, gate_summary
from bot.core.ledger import Entry, Ledger
from bot.core.policy import load_policy
from bot.core.registry import (
    GATE_SUMMARY_TAG,
    GATE_TAG,
    READY_TAG,
    TAG_KEY_LIMIT,
    TAG_VALUE_LIMIT,
    RegistryChange,
    deployment_tags,
    gate_tags,
    iso_time,
    missing_tags,
    plan_alias,
    rollback_tags,
    tag_key,
    tag_value,
)
from bot.core.trailers import NO_REASON

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 31, 12, 0, 5, 123456, tzinfo=timezone.utc)
MODEL, ENV, ALIAS = "fraud-detector", "production", "champion"


def entry(
    version: str | None,
    previous: str | None = None,
    action: str = "promote",
    *,
    hours: int = 0,
    commit: str = "c0ffee",
    **extra: object,
) -> Entry:
    return Entry(
        model=MODEL,
        environment=ENV,
        version=version,
        previous_version=previous,
        action=action,  # type: ignore[arg-type]
        commit=commit,
        at=T0 + timedelta(hours=hours),
        **extra,  # type: ignore[arg-type]
    )


def ledger(*entries: Entry, model: str = MODEL, environment: str = ENV) -> Ledger:
    return Ledger(model, environment, tuple(entries))


def decision(passed: bool, *, policy: str | None = "policies/default.yaml") -> Decision:
    return Decision(
        passed=passed,
        rows=(),
        significance=None,
        environment=None,
        policy=policy,
        model=MODEL,
        version="7",
        champion_version="6",
        primary_metric="accuracy",
        primary_metric_goal="maximize",
        on_fail="block",
    )


# --- plan_alias --------------------------------------------------------------------------------


def test_the_alias_moves_to_the_version_that_runs() -> None:
    history = ledger(entry("7", "6", hours=2, commit="b"), entry("6", None, commit="a"))
    assert plan_alias(MODEL, ENV, ALIAS, history, "6") == RegistryChange(
        "alias", MODEL, ALIAS, "7", previous="6"
    )


def test_an_alias_not_set_yet_is_set() -> None:
    change = plan_alias(MODEL, ENV, ALIAS, ledger(entry("1")), None)
    assert change is not None
    assert (change.kind, change.version, change.previous, dict(change.tags)) == (
        "alias",
        "1",
        None,
        {},
    )


def test_an_alias_already_there_is_left_alone() -> None:
    assert plan_alias(MODEL, ENV, ALIAS, ledger(entry("7", "6")), "7") is None


def test_an_alias_moved_by_hand_is_put_back() -> None:
    change = plan_alias(MODEL, ENV, ALIAS, ledger(entry("7", "6")), "3")
    assert change is not None and (change.previous, change.version) == ("3", "7")


def test_a_rollback_moves_the_alias_back() -> None:
    history = ledger(
        entry("6", "7", "rollback", hours=3, reason="error rate"),
        entry("7", "6", hours=2),
        entry("6", hours=1),
    )
    change = plan_alias(MODEL, ENV, ALIAS, history, "7")
    assert change is not None and (change.previous, change.version) == ("7", "6")


def test_a_manual_edit_counts_as_what_runs() -> None:
    history = ledger(entry("9", "7", "manual", hours=2), entry("7", "6"))
    change = plan_alias(MODEL, ENV, ALIAS, history, "7")
    assert change is not None and change.version == "9"


@pytest.mark.parametrize(
    "history",
    [ledger(), ledger(entry(None, "7", "manual", hours=1), entry("7"))],
    ids=["nothing-deployed", "folder-removed"],
)
def test_nothing_deployed_moves_nothing(history: Ledger) -> None:
    """An alias is never removed on the ledger's word (nor moved to nothing)."""
    assert plan_alias(MODEL, ENV, ALIAS, history, "7") is None
    assert plan_alias(MODEL, ENV, ALIAS, history, None) is None


@pytest.mark.parametrize(("model", "environment"), [("other", ENV), (MODEL, "staging")])
def test_a_ledger_of_another_model_or_environment_is_refused(model: str, environment: str) -> None:
    with pytest.raises(ValueError, match="is not about"):
        plan_alias(model, environment, ALIAS, ledger(entry("7")), None)


@given(
    versions=st.lists(st.sampled_from(["1", "2", "3", "10"]), min_size=1, max_size=6),
    current=st.none() | st.sampled_from(["1", "2", "3", "10", "99"]),
)
def test_after_the_plan_the_alias_points_at_the_newest_entry(
    versions: list[str], current: str | None
) -> None:
    history = ledger(*(entry(v, hours=-i, commit=f"c{i}") for i, v in enumerate(versions)))
    change = plan_alias(MODEL, ENV, ALIAS, history, current)
    after = change.version if change is not None else current
    assert after == versions[0]
    if change is not None:
        assert change.previous == current != versions[0]


# --- deployment_tags ---------------------------------------------------------------------------


def test_deployment_tags_with_a_pull_request_url() -> None:
    tags = deployment_tags(entry("7", "6", commit="abc123"), ENV, "https://github.com/a/e/pull/5")
    assert tags == {
        "model_bot.deployed.production": "2026-01-31T12:00:05Z",
        "model_bot.deployed.production.pull_request": "https://github.com/a/e/pull/5",
        "model_bot.deployed.production.commit": "abc123",
    }


def test_deployment_tags_take_the_entrys_pull_request() -> None:
    url = "https://github.com/a/e/pull/9"
    assert (
        deployment_tags(entry("7", pull_url=url, pull_number=9), ENV)[
            "model_bot.deployed.production.pull_request"
        ]
        == url
    )
    numbered = deployment_tags(entry("7", pull_number=9), ENV)
    assert numbered["model_bot.deployed.production.pull_request"] == "#9"
    given_url = deployment_tags(entry("7", pull_url=url), ENV, "https://x/pull/1")
    assert given_url["model_bot.deployed.production.pull_request"] == "https://x/pull/1"


def test_deployment_tags_without_a_pull_request_leave_it_out() -> None:
    """Local mode: merged by git, no pull request to name."""
    tags = deployment_tags(entry("7"), "staging")
    assert set(tags) == {"model_bot.deployed.staging", "model_bot.deployed.staging.commit"}


def test_deployment_tags_of_a_rollback_and_a_manual_edit() -> None:
    for action in ("rollback", "manual"):
        tags = deployment_tags(entry("6", "7", action, commit="d00d"), ENV)
        assert tags["model_bot.deployed.production.commit"] == "d00d"


@pytest.mark.parametrize("environment", ["", "a/b", "prod\nx", "a..b/c", " x"])
def test_deployment_tags_refuse_a_bad_environment(environment: str) -> None:
    with pytest.raises(ValueError, match="bad"):
        deployment_tags(entry("7"), environment)


# --- rollback_tags -----------------------------------------------------------------------------


def test_rollback_tags_say_when_and_why() -> None:
    rolled = entry("6", "7", "rollback", hours=1, reason="error rate 5% in the canary")
    assert rollback_tags(rolled, ENV) == {
        "model_bot.rolled_back.production": "2026-01-31T13:00:05Z",
        "model_bot.rolled_back.production.reason": "error rate 5% in the canary",
    }


def test_a_rollback_without_a_reason_says_so() -> None:
    tags = rollback_tags(entry("6", "7", "rollback"), ENV)
    assert tags["model_bot.rolled_back.production.reason"] == NO_REASON


def test_a_hostile_reason_becomes_one_bounded_line() -> None:
    reason = "line one\nline two\x1b[31m\u202e" + "é" * 6000
    value = rollback_tags(entry("6", "7", "rollback", reason=reason), ENV)[
        "model_bot.rolled_back.production.reason"
    ]
    assert "\n" not in value and "\x1b" not in value and "\u202e" not in value
    assert value.startswith("line one line two")
    assert len(value.encode("utf-8")) <= TAG_VALUE_LIMIT
    assert value.endswith("…")


@pytest.mark.parametrize("action", ["promote", "manual"])
def test_rollback_tags_only_for_a_rollback(action: str) -> None:
    with pytest.raises(ValueError, match="not a rollback"):
        rollback_tags(entry("7", "6", action), ENV)


# --- gate_tags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passed", "verdict", "ready"), [(True, "pass", "true"), (False, "fail", "false")]
)
def test_gate_tags(passed: bool, verdict: str, ready: str) -> None:
    made = decision(passed)
    assert gate_tags(made) == {
        GATE_TAG: verdict,
        READY_TAG: ready,
        GATE_SUMMARY_TAG: gate_summary(made),
    }
    assert (GATE_TAG, READY_TAG, GATE_SUMMARY_TAG) == (
        "model_bot.gate",
        "ready_for_deployment",
        "model_bot.gate.summary",
    )


def test_gate_tags_of_a_real_decision() -> None:
    evidence = load_evidence(REPO / "examples" / "gate-results.json")
    made = evaluate(
        load_policy(REPO / "policies" / "production.yaml"), evidence, None, policy_source="p.yaml"
    )
    tags = gate_tags(made)
    assert tags[GATE_TAG] == made.verdict
    assert tags[GATE_SUMMARY_TAG].startswith(made.verdict.upper() + " ")
    assert tags[GATE_SUMMARY_TAG].endswith("(policy p.yaml)")


def test_a_policy_path_with_a_newline_stays_one_line() -> None:
    summary = gate_tags(decision(True, policy="a\nb.yaml"))[GATE_SUMMARY_TAG]
    assert "\n" not in summary and summary.endswith("(policy a b.yaml)")


# --- keys, values, times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["model_bot.gate", "ready_for_deployment", "a/b c-d_e.f", "x" * TAG_KEY_LIMIT],
)
def test_good_tag_keys(key: str) -> None:
    assert tag_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "a:b", "a\nb", "é", "/a", ".a", "..a", "a/../b", "a//b", "a/", "x" * (TAG_KEY_LIMIT + 1)],
)
def test_bad_tag_keys(key: str) -> None:
    with pytest.raises(ValueError, match="bad registry tag key"):
        tag_key(key)


@given(st.text(max_size=7000))
def test_tag_values_are_one_bounded_printable_line(text: str) -> None:
    value = tag_value(text)
    assert len(value.encode("utf-8")) <= TAG_VALUE_LIMIT
    assert value == value.strip() and "\n" not in value and "\r" not in value
    assert all(ord(c) >= 32 and ord(c) != 127 for c in value)


def test_a_value_at_the_limit_is_kept_whole() -> None:
    assert tag_value("a" * TAG_VALUE_LIMIT) == "a" * TAG_VALUE_LIMIT
    cut = tag_value("a" * (TAG_VALUE_LIMIT + 1))
    assert cut.endswith("…") and len(cut.encode("utf-8")) <= TAG_VALUE_LIMIT


def test_values_are_cut_between_characters() -> None:
    cut = tag_value("€" * 4000)  # 3 bytes each
    assert len(cut.encode("utf-8")) <= TAG_VALUE_LIMIT
    assert set(cut[:-1]) == {"€"}


def test_iso_time_is_utc_in_whole_seconds() -> None:
    assert iso_time(T0) == "2026-01-31T12:00:05Z"
    plus_two = datetime(2026, 1, 31, 14, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert iso_time(plus_two) == "2026-01-31T12:00:05Z"
    assert iso_time(datetime(2026, 1, 31, 12, 0, 5)) == "2026-01-31T12:00:05Z"  # naive: UTC


def test_missing_tags() -> None:
    wanted = {"a": "1", "b": "2", "c": "3"}
    assert missing_tags(wanted, {"a": "1", "b": "old", "z": "9"}) == {"b": "2", "c": "3"}
    assert missing_tags(wanted, wanted) == {}
    assert missing_tags({}, {"a": "1"}) == {}


# --- the `registry` section of .model-bot.yaml ---------------------------------------------------


def test_no_registry_by_default() -> None:
    assert parse_config("labels: [x]\n").registry is None


def test_registry_defaults() -> None:
    registry = parse_config("registry: {}\n").registry
    assert registry is not None
    assert registry.tracking_uri is None
    assert registry.aliases == {"production": "champion", "staging": "staging"}
    assert (registry.move_on, registry.tag_versions) == ("merge", True)


def test_registry_in_full() -> None:
    registry = parse_config(
        "environments: {production: {}, qa: {}}\n"
        "registry:\n"
        "  tracking_uri: https://mlflow.example.com/root\n"
        "  aliases: {production: champion, qa: qa-candidate}\n"
        "  move_on: complete\n"
        "  tag_versions: false\n"
    ).registry
    assert registry is not None
    assert registry.tracking_uri == "https://mlflow.example.com/root"
    assert registry.aliases == {"production": "champion", "qa": "qa-candidate"}
    assert (registry.move_on, registry.tag_versions) == ("complete", False)


def test_default_aliases_need_not_name_listed_environments() -> None:
    """The defaults name `staging`, which a repo listing only `production` does not have:
    the sync skips it; aliases written in the file must name listed environments."""
    registry = parse_config("environments: {production: {}}\nregistry: {move_on: merge}\n").registry
    assert registry is not None and "staging" in registry.aliases


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("registry: {aliases: {production: latest}}", "MLflow reserves 'latest'"),
        ("registry: {aliases: {production: v3}}", "MLflow reserves"),
        ("registry: {aliases: {production: V3}}", "bad registry alias name"),
        ("registry: {aliases: {production: Champion}}", "bad registry alias name"),
        ("registry: {aliases: {production: my_alias}}", "bad registry alias name"),
        ("registry: {aliases: {production: ''}}", "bad registry alias name"),
        ("registry: {aliases: {Prod: champion}}", "bad environment name"),
        ("registry: {aliases: {production: a, staging: a}}", "given to both"),
        ("registry: {aliases: {production: 7}}", "registry.aliases"),
        (
            "environments: {production: {}}\nregistry: {aliases: {prod: champion}}",
            "registry: aliases name environments not listed under environments: prod",
        ),
        ("registry: {move_on: later}", "registry.move_on"),
        ("registry: {tag_versions: maybe}", "registry.tag_versions"),
        ("registry: {bogus: 1}", "registry.bogus"),
        ("registry: {tracking_uri: 'file:///tmp/mlruns'}", "bad tracking_uri"),
        ("registry: {tracking_uri: 'sqlite:///x.db'}", "bad tracking_uri"),
        ("registry: {tracking_uri: 'https://u:p@mlflow.example.com'}", "no credentials"),
        ("registry: {tracking_uri: 'https://mlflow.example.com/?token=x'}", "no credentials"),
        ("registry: {tracking_uri: 'https://'}", "no host"),
    ],
)
def test_bad_registry_sections(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_config(text + "\n")
    assert message in str(info.value)


def test_a_credential_is_not_echoed() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_config("registry: {tracking_uri: 'https://u:hunter2@mlflow.example.com'}\n")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("uri", ["databricks", "databricks://profile", "http://127.0.0.1:5000"])
def test_good_tracking_uris(uri: str) -> None:
    registry = parse_config(f"registry: {{tracking_uri: '{uri}'}}\n").registry
    assert registry is not None and registry.tracking_uri == uri


def test_the_schema_describes_the_registry_section() -> None:
    schema = config_json_schema()
    properties = schema["properties"]
    assert isinstance(properties, dict) and "registry" in properties
    good = {
        "registry": {
            "tracking_uri": None,
            "aliases": {"production": "champion"},
            "move_on": "complete",
            "tag_versions": False,
        }
    }
    jsonschema.validate(good, schema)
    for bad in ({"registry": {"move_on": "later"}}, {"registry": {"bogus": 1}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        with pytest.raises(InvalidInput):
            parse_config(json.dumps(bad))
