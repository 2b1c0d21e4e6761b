"""bot.core.events: the GitHub Actions events of `model-bot event` (a rollout notification sent
as a repository_dispatch, a closed pull request), checked as the untrusted input they are."""

from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.errors import EXIT_USAGE, InvalidInput
from bot.core.events import (
    ABORTED_TRIGGERS,
    COMPLETED_TRIGGERS,
    DISPATCH_EVENT_TYPE,
    IMAGE_LIMIT,
    MAX_IMAGES,
    MESSAGE_LIMIT,
    NOT_A_BOT_PULL_REQUEST,
    TITLE_LIMIT,
    TRIGGERS,
    ClosedProposal,
    Ignored,
    RolloutNotice,
    image_repository,
    image_tag,
    load_event,
    parse_event,
)
from bot.core.marker import ProposalMeta
from bot.core.names import BotBranch
from bot.core.untrusted import ELLIPSIS, one_line
from tests.webhooks import PULL_REQUEST_CLOSED, load

DIGEST = "sha256:" + "a" * 64
SHA = "0123456789abcdef0123456789abcdef01234567"
MERGE_SHA = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"  # the octokit example's


def payload(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "trigger": "on-rollout-aborted",
        "rollout": "fraud-detector",
        "namespace": "production",
        "revision": "3",
        "images": ["ghcr.io/acme/fraud-detector:7"],
        "message": "RolloutAborted: Rollout aborted update to revision 3",
    }
    data.update(changes)
    return data


def dispatch(client_payload: object = None, action: object = DISPATCH_EVENT_TYPE) -> Any:
    """A repository_dispatch event as GitHub writes it (the dispatch's event_type in `action`)."""
    event = {
        "action": action,
        "branch": "main",
        "client_payload": payload() if client_payload is None else client_payload,
        "repository": {"full_name": "acme/env"},
        "sender": {"login": "argo-bot"},
        "installation": None,
    }
    return parse_event("repository_dispatch", event)


def clean(text: str) -> bool:
    """One line with nothing a terminal would interpret (the `bot.core.untrusted` rules)."""
    return text == one_line(text) and not any(
        unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in text
    )


def problems(error: pytest.ExceptionInfo[InvalidInput]) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in error.value.problems]


def refused(client_payload: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as error:
        dispatch(client_payload)
    return problems(error)


# --- repository_dispatch: valid shapes -------------------------------------------------------


def test_a_rollout_notice() -> None:
    notice = dispatch()
    assert notice == RolloutNotice(
        trigger="on-rollout-aborted",
        rollout="fraud-detector",
        namespace="production",
        revision="3",
        images=("ghcr.io/acme/fraud-detector:7",),
        message="RolloutAborted: Rollout aborted update to revision 3",
    )
    assert isinstance(notice, RolloutNotice)
    assert notice.kind == "aborted"
    assert notice.revision_number == 3
    assert notice.model is None and notice.environment is None


@pytest.mark.parametrize(
    ("trigger", "kind"),
    [
        ("on-rollout-aborted", "aborted"),
        ("on-analysis-run-failed", "aborted"),
        ("on-rollout-completed", "completed"),
    ],
)
def test_every_trigger_and_its_kind(trigger: str, kind: str) -> None:
    notice = dispatch(payload(trigger=trigger))
    assert isinstance(notice, RolloutNotice)
    assert (notice.trigger, notice.kind) == (trigger, kind)


def test_the_trigger_lists() -> None:
    assert set(TRIGGERS) == {*ABORTED_TRIGGERS, *COMPLETED_TRIGGERS}
    assert len(TRIGGERS) == 3


def test_model_and_environment_when_the_template_knows_them() -> None:
    notice = dispatch(payload(model="fraud-detector", environment="prod"))
    assert isinstance(notice, RolloutNotice)
    assert (notice.model, notice.environment) == ("fraud-detector", "prod")
    nulls = dispatch(payload(model=None, environment=None))
    assert isinstance(nulls, RolloutNotice) and nulls.model is None


def test_an_empty_revision_and_message() -> None:
    notice = dispatch(payload(revision="", message=""))
    assert isinstance(notice, RolloutNotice)
    assert notice.revision == "" and notice.revision_number is None and notice.message == ""


def test_keys_starting_with_x_are_ignored() -> None:
    notice = dispatch(payload(**{"x-sent-by": "argo", "x-": [1, {"a": None}], "x-n": 5}))
    assert notice == dispatch()


@pytest.mark.parametrize("count", [1, 2, MAX_IMAGES])
def test_one_to_twenty_images(count: int) -> None:
    images = [f"ghcr.io/acme/m{i}:v{i}" for i in range(count)]
    notice = dispatch(payload(images=images))
    assert isinstance(notice, RolloutNotice) and notice.images == tuple(images)


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.25",
        "library/nginx:latest",
        "docker.io/library/nginx:1.25",
        "argoproj/rollouts-demo:blue",
        "localhost/app",
        "localhost:5000/app:1",
        "127.0.0.1:5000/team/app:2024.05.14-rc_1",
        "ghcr.io/acme/fraud-detector:7",
        "registry.example.com:443/a/b_c/d__e/f--g/h.i:V1",
        f"ghcr.io/acme/fraud@{DIGEST}",
        f"ghcr.io/acme/fraud:7@{DIGEST}",
        "ghcr.io/acme/fraud@sha512:" + "0" * 128,
        "a:" + "t" * 128,
        "r.io/" + "a" * (IMAGE_LIMIT - 5),
    ],
)
def test_image_references_accepted(image: str) -> None:
    notice = dispatch(payload(images=[image]))
    assert isinstance(notice, RolloutNotice) and notice.images == (image,)


@pytest.mark.parametrize(
    "image",
    [
        "",
        "Nginx",
        "ghcr.io/Acme/fraud:7",
        ":7",
        "nginx:",
        "nginx@",
        "nginx:7@sha256:abc",
        "nginx@md5:" + "a" * 32,
        "nginx@sha256:" + "A" * 64,
        "nginx:a/b",
        "nginx:-7",
        "nginx:" + "t" * 129,
        "nginx 7",
        "nginx\n",
        "nginx:7\nrm -rf /",
        "-nginx",
        "a//b",
        "/a",
        "a/",
        "https://ghcr.io/a",
        "$(rm -rf /)",
        "`id`",
        "ghcr.io/acme/fraud:7;id",
        "r.io/" + "a" * (IMAGE_LIMIT - 4),
        "x" * 10_000_000,
    ],
)
def test_image_references_refused(image: str) -> None:
    [(field, message)] = refused(payload(images=["nginx", image]))
    assert field == "client_payload.images[1]"
    assert message.startswith("bad image reference ")
    assert "[registry[:port]/]repository[:tag][@sha256:<64 hex digits>]" in message
    assert "\n" not in message and len(message) < 400


# --- repository_dispatch: every bad field named -----------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("trigger", 5, "got 5, use one of 'on-rollout-aborted', "),
        ("trigger", None, "got null, use one of"),
        ("trigger", ["on-rollout-aborted"], "use one of"),
        ("rollout", "Fraud", "bad rollout name 'Fraud': use a DNS-1123 label"),
        ("rollout", "a" * 64, "a DNS-1123 label has at most 63 characters"),
        ("rollout", "fraud\n", "bad rollout name 'fraud\\n'"),
        ("rollout", "", "bad rollout name ''"),
        ("rollout", 7, "expected a string, got 7"),
        ("rollout", True, "expected a string, got true"),
        ("rollout", None, "expected a string, got null"),
        ("namespace", "prod.eu", "bad namespace name 'prod.eu'"),
        ("namespace", "$(rm -rf /)", "bad namespace name '$(rm -rf /)'"),
        ("namespace", {"a": 1}, "expected a string"),
        ("revision", 3, "expected a string, got 3"),
        ("revision", "3a", "bad revision '3a': use the Rollout's rollout.argoproj.io/revision"),
        ("revision", "-1", "bad revision '-1'"),
        ("revision", "٣", "bad revision"),  # an Arabic-Indic digit: not 0-9
        ("revision", "1" * 21, "digits, at most 20"),
        ("revision", None, "expected a string, got null"),
        ("images", "nginx", 'expected a list, got "nginx"'),
        ("images", {"0": "nginx"}, "expected a list"),
        ("images", None, "expected a list, got null"),
        ("images", [], "has 0 images, expected 1 to 20"),
        ("images", ["nginx"] * 21, "has 21 images, expected 1 to 20"),
        ("message", None, "expected a string, got null"),
        ("message", 5, "expected a string, got 5"),
        ("message", ["a"], "expected a string"),
        ("model", "Fraud", "bad model name 'Fraud'"),
        ("model", 1, "expected a string, got 1"),
        ("environment", "prod/eu", "bad environment name 'prod/eu'"),
        ("environment", False, "expected a string, got false"),
    ],
)
def test_a_bad_field_is_named_with_its_fix(field: str, value: object, expected: str) -> None:
    [(where, message)] = refused(payload(**{field: value}))
    assert where == f"client_payload.{field}"
    assert expected in message


@pytest.mark.parametrize(
    "field", ["trigger", "rollout", "namespace", "revision", "images", "message"]
)
def test_a_missing_field_is_named(field: str) -> None:
    data = payload()
    del data[field]
    assert refused(data) == [(f"client_payload.{field}", "required field is missing (add it)")]


def test_every_problem_at_once() -> None:
    found = refused(
        payload(rollout=True, namespace="NS", revision=3, images=["ok", "BAD", 3], message=None)
    )
    assert [field for field, _ in found] == [
        "client_payload.rollout",
        "client_payload.namespace",
        "client_payload.revision",
        "client_payload.images[1]",
        "client_payload.images[2]",
        "client_payload.message",
    ]


@pytest.mark.parametrize("key", ["extra", "X-upper", "images ", "Trigger", "x_underscore"])
def test_unknown_keys_are_refused(key: str) -> None:
    assert refused(payload(**{key: 1})) == [
        (f"client_payload.{key}", "unknown field (remove it or fix its spelling)")
    ]


def test_a_huge_payload_is_one_problem() -> None:
    [(field, message)] = refused({f"k{i}": i for i in range(100_000)})
    assert field == "client_payload"
    assert message.startswith("has 100000 keys, expected at most 100")


def test_a_million_images_are_one_problem() -> None:
    [(field, message)] = refused(payload(images=["BAD"] * 1_000_000))
    assert field == "client_payload.images"
    assert message.startswith("has 1000000 images")


@pytest.mark.parametrize("value", [None, [], "x", 5, True, [payload()]])
def test_a_client_payload_that_is_no_object(value: object) -> None:
    event = {"action": DISPATCH_EVENT_TYPE, "client_payload": value}
    with pytest.raises(InvalidInput) as error:
        parse_event("repository_dispatch", event)
    [(field, message)] = problems(error)
    assert field == "client_payload" and message.startswith("expected a mapping, got ")


def test_a_missing_client_payload() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_event("repository_dispatch", {"action": DISPATCH_EVENT_TYPE})
    assert problems(error) == [("client_payload", "required field is missing (add it)")]


def test_invalid_input_is_a_usage_error_exit_2() -> None:
    with pytest.raises(InvalidInput) as error:
        dispatch(payload(rollout="BAD"))
    assert error.value.exit_code == EXIT_USAGE == 2
    assert str(error.value).startswith("--event-path: client_payload.rollout: bad rollout name")


def test_the_source_names_the_input() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_event(
            "repository_dispatch",
            {"action": DISPATCH_EVENT_TYPE, "client_payload": payload(rollout="BAD")},
            source="event.json",
        )
    assert str(error.value).startswith("event.json: client_payload.rollout: ")


def test_the_notice_is_frozen() -> None:
    notice = dispatch()
    assert isinstance(notice, RolloutNotice)
    with pytest.raises(ValidationError):
        notice.rollout = "other"  # type: ignore[misc]


# --- repository_dispatch: what is ignored -----------------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    ["on-rollout-paused", "on-rollout-updated", "on-analysis-run-error", "", "ON-ROLLOUT-ABORTED"],
)
def test_other_triggers_are_ignored(trigger: str) -> None:
    ignored = dispatch(payload(trigger=trigger, rollout="NOT CHECKED", images=None))
    assert isinstance(ignored, Ignored)
    assert repr(trigger) in ignored.reason
    assert "on-rollout-aborted, on-analysis-run-failed, on-rollout-completed" in ignored.reason


@pytest.mark.parametrize("event_type", ["deploy", "model-bot-rollouts", "", "MODEL-BOT-ROLLOUT"])
def test_other_event_types_are_ignored(event_type: str) -> None:
    ignored = dispatch({"anything": object()}, action=event_type)
    assert isinstance(ignored, Ignored)
    assert f"event_type {event_type!r} is not the bot's (model-bot-rollout)" in ignored.reason


@pytest.mark.parametrize("action", [None, 5, ["model-bot-rollout"], True])
def test_a_dispatch_without_a_string_action(action: object) -> None:
    event: dict[str, Any] = {"client_payload": payload()}
    if action is not None:
        event["action"] = action
    with pytest.raises(InvalidInput) as error:
        parse_event("repository_dispatch", event)
    [(field, message)] = problems(error)
    assert field == "action"
    assert message.startswith("is missing" if action is None else "expected a string")


@pytest.mark.parametrize("data", [None, [], "event", 5, [{"action": "closed"}]])
def test_an_event_that_is_no_object(data: object) -> None:
    for name in ("repository_dispatch", "pull_request", "push"):
        with pytest.raises(InvalidInput) as error:
            parse_event(name, data)
        assert problems(error) == [("(top level)", "is not a GitHub event (not a JSON object)")]


@pytest.mark.parametrize(
    "event_name", ["push", "issue_comment", "workflow_dispatch", "pull_request_target", ""]
)
def test_other_events_are_ignored(event_name: str) -> None:
    ignored = parse_event(event_name, {"action": "closed"})
    assert isinstance(ignored, Ignored)
    assert ignored.reason.startswith(f"the {event_name!r} event is not one the bot handles")


HOSTILE = [
    "line one\nline two\r\n\x1b[31mred\x00",
    "$(rm -rf /) `reboot` ${{ secrets.TOKEN }}",
    "\u202eevil\u2066 \u2028sep\u2029",
    "x" * 10_000_000,
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_ignored_reasons_are_one_short_clean_line(text: str) -> None:
    for ignored in (
        parse_event(text, {}),
        dispatch(payload(), action=text),
        dispatch(payload(trigger=text)),
        parse_event("pull_request", {"action": text}),
    ):
        assert isinstance(ignored, Ignored)
        reason = ignored.reason
        assert reason.isprintable() and len(reason) < 400
        assert "\n" not in reason and "\u202e" not in reason and "\u2028" not in reason


@pytest.mark.parametrize("text", HOSTILE)
def test_problems_are_one_short_clean_line(text: str) -> None:
    bad = payload(
        rollout=text, namespace=text, revision=text, images=[text], model=text, environment=text
    )
    for _, message in refused(bad):
        assert message.isprintable() and len(message) < 400, message


# --- the message ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("plain", "plain"),
        ("  padded\t", "padded"),
        ("quotes \"and\" 'more'", "quotes \"and\" 'more'"),
        ("line one\nline two\r\nthree", "line one line two three"),
        ("\x1b[31mred\x1b[0m\x00", "[31mred [0m"),
        ("$(rm -rf /) `reboot`", "$(rm -rf /) `reboot`"),
        ("\u202eevil\u2066x", "evil x"),
        ("a\u2028b\u2029c\x85d", "a b c d"),
        ("\ud800", "\ufffd"),
        ("\n\t \r", ""),
        ("é 😀 日本", "é 😀 日本"),
    ],
)
def test_the_message_is_one_printable_line(raw: str, kept: str) -> None:
    notice = dispatch(payload(message=raw))
    assert isinstance(notice, RolloutNotice) and notice.message == kept


def test_a_long_message_is_cut_to_500_characters() -> None:
    notice = dispatch(payload(message="word " * 1000))
    assert isinstance(notice, RolloutNotice)
    assert len(notice.message) == MESSAGE_LIMIT and notice.message.endswith(ELLIPSIS)
    exact = dispatch(payload(message="m" * MESSAGE_LIMIT))
    assert isinstance(exact, RolloutNotice) and exact.message == "m" * MESSAGE_LIMIT


def test_a_10_mb_message_is_cut_unread() -> None:
    notice = dispatch(payload(message="\n" + "x" * 10_000_000))
    assert isinstance(notice, RolloutNotice)
    assert notice.message == "x" * (MESSAGE_LIMIT - 1) + ELLIPSIS
    # 10 MB of whitespace and then text: what was read is empty, the cut still shows
    spaces = dispatch(payload(message=" " * 10_000_000 + "tail"))
    assert isinstance(spaces, RolloutNotice) and spaces.message == ELLIPSIS


# --- hypothesis: any JSON-like payload is a notice, Ignored or InvalidInput --------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["trigger", "rollout", "namespace", "revision", "images", "message", "model", "x-a", "zz"]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(FIELDS, JSON | st.sampled_from(TRIGGERS), max_size=9), st.text(max_size=20))
def test_any_payload_is_a_notice_ignored_or_invalid(data: dict[str, Any], action: str) -> None:
    for event_action in (DISPATCH_EVENT_TYPE, action):
        try:
            result = dispatch(data, action=event_action)
        except InvalidInput as error:
            for problem in error.problems:
                assert "\n" not in problem.message and len(problem.message) < 400
            continue
        if isinstance(result, RolloutNotice):
            assert clean(result.message) and len(result.message) <= MESSAGE_LIMIT
            assert 1 <= len(result.images) <= MAX_IMAGES
        else:
            assert isinstance(result, Ignored) and "\n" not in result.reason


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_any_message_is_kept_as_one_clean_line(message: str) -> None:
    notice = dispatch(payload(message=message))
    assert isinstance(notice, RolloutNotice)
    assert clean(notice.message) and len(notice.message) <= MESSAGE_LIMIT


# --- image_tag, image_repository --------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "tag", "repository"),
    [
        ("nginx", None, "docker.io/library/nginx"),
        ("nginx:1.25", "1.25", "docker.io/library/nginx"),
        ("library/nginx:1", "1", "docker.io/library/nginx"),
        ("argoproj/rollouts-demo:blue", "blue", "docker.io/argoproj/rollouts-demo"),
        ("docker.io/argoproj/rollouts-demo:blue", "blue", "docker.io/argoproj/rollouts-demo"),
        ("index.docker.io/nginx:1", "1", "docker.io/library/nginx"),
        ("registry-1.docker.io/library/nginx", None, "docker.io/library/nginx"),
        ("ghcr.io/acme/fraud-detector:7", "7", "ghcr.io/acme/fraud-detector"),
        (f"ghcr.io/acme/fraud@{DIGEST}", None, "ghcr.io/acme/fraud"),
        (f"ghcr.io/acme/fraud:7@{DIGEST}", "7", "ghcr.io/acme/fraud"),
        ("localhost:5000/app", None, "localhost:5000/app"),
        ("localhost:5000/app:2", "2", "localhost:5000/app"),
        ("localhost/app:3", "3", "localhost/app"),
        ("registry:5000/team/app:v1.2", "v1.2", "registry:5000/team/app"),
    ],
)
def test_image_tag_and_repository(reference: str, tag: str | None, repository: str) -> None:
    assert image_tag(reference) == tag
    assert image_repository(reference) == repository


# --- pull_request: closed model-bot pull requests ---------------------------------------------


def pull_request_event(
    head_ref: str = "model-bot/promote/production/fraud-detector",
    *,
    merged: bool = True,
    body: str | None = None,
    action: str = "closed",
    **changes: Any,
) -> dict[str, Any]:
    """The octokit `pull_request.closed` example, turned into a closed model-bot PR."""
    event = copy.deepcopy(load(PULL_REQUEST_CLOSED))
    pull = event["pull_request"]
    event["action"] = action
    pull["head"]["ref"] = head_ref
    pull["merged"] = merged
    pull["merged_by"] = {"login": "octocat", "id": 1, "type": "User"} if merged else None
    pull["body"] = (
        "Promote fraud-detector 7 to production.\n\n"
        + ProposalMeta("promote", "fraud-detector", "production", "7", "6").marker()
        if body is None
        else body
    )
    pull.update(changes)
    return event


def test_the_octokit_example_is_not_a_model_bot_pull_request() -> None:
    event = load(PULL_REQUEST_CLOSED)
    assert parse_event("pull_request", event) == Ignored(NOT_A_BOT_PULL_REQUEST)


def test_a_merged_promotion() -> None:
    proposal = parse_event("pull_request", pull_request_event())
    assert proposal == ClosedProposal(
        number=2,
        merged=True,
        merge_commit_sha=MERGE_SHA,
        head_ref="model-bot/promote/production/fraud-detector",
        base_ref="master",
        marker=ProposalMeta("promote", "fraud-detector", "production", "7", "6"),
        merged_by="octocat",
        title="Update the README with new information.",
        head_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        branch=BotBranch("promote", "production", "fraud-detector"),
    )


def test_a_promotion_closed_without_merging() -> None:
    proposal = parse_event("pull_request", pull_request_event(merged=False))
    assert isinstance(proposal, ClosedProposal)
    assert not proposal.merged
    # GitHub fills merge_commit_sha with a test merge before merging: it is no merge
    assert proposal.merge_commit_sha is None and proposal.merged_by is None
    unmerged = pull_request_event(merged=False, merge_commit_sha=None)
    assert parse_event("pull_request", unmerged) == proposal


def test_a_merged_rollback() -> None:
    marker = ProposalMeta("rollback", "fraud-detector", "production", "6", "7", {"A": "b"})
    event = pull_request_event(
        "model-bot/rollback/production/fraud-detector", body="Roll back.\n" + marker.marker()
    )
    proposal = parse_event("pull_request", event)
    assert isinstance(proposal, ClosedProposal)
    assert proposal.branch == BotBranch("rollback", "production", "fraud-detector")
    assert proposal.marker == marker


@pytest.mark.parametrize(
    "body",
    [
        "",
        "no marker at all",
        "<!-- model-bot: {not json} -->",
        ProposalMeta("rollback", "fraud-detector", "production", "7", "6").marker(),
        ProposalMeta("promote", "other-model", "production", "7", "6").marker(),
        ProposalMeta("promote", "fraud-detector", "staging", "7", "6").marker(),
        ProposalMeta("promote", "fraud-detector", "production", "7..8", "6").marker(),
        ProposalMeta("promote", "fraud-detector", "production", "7", "$(id)").marker(),
        ProposalMeta("promote", "fraud-detector", "production", "", None).marker(),
    ],
)
def test_a_marker_that_is_bad_or_disagrees_with_the_branch_is_dropped(body: str) -> None:
    proposal = parse_event("pull_request", pull_request_event(body=body))
    assert isinstance(proposal, ClosedProposal) and proposal.marker is None


def test_a_null_body_and_no_previous_version() -> None:
    event = pull_request_event()
    event["pull_request"]["body"] = None
    proposal = parse_event("pull_request", event)
    assert isinstance(proposal, ClosedProposal) and proposal.marker is None
    first = ProposalMeta("promote", "fraud-detector", "production", "1", None).marker()
    proposal = parse_event("pull_request", pull_request_event(body=first))
    assert isinstance(proposal, ClosedProposal) and proposal.marker is not None
    assert proposal.marker.previous_version is None


def test_the_last_marker_counts() -> None:
    old = ProposalMeta("promote", "other", "production", "1", None).marker()
    new = ProposalMeta("promote", "fraud-detector", "production", "8", "7").marker()
    proposal = parse_event("pull_request", pull_request_event(body=f"{old}\n{new}"))
    assert isinstance(proposal, ClosedProposal)
    assert proposal.marker is not None and proposal.marker.version == "8"


@pytest.mark.parametrize(
    "head_ref",
    [
        "main",
        "model-bot/promote/production",
        "model-bot/promote/production/fraud-detector/extra",
        "model-bot/deploy/production/fraud-detector",
        "model-bot/promote/Production/fraud-detector",
        "model-bot/promote/production/fraud detector",
        "feature/model-bot/promote/production/fraud-detector",
        "",
    ],
)
def test_other_branches_are_not_model_bot_pull_requests(head_ref: str) -> None:
    # nothing else is checked: an unrelated pull request never fails the workflow
    event = pull_request_event(head_ref, number="not checked", title=None)
    event["pull_request"]["merged"] = "not checked"
    assert parse_event("pull_request", event) == Ignored(NOT_A_BOT_PULL_REQUEST)


@pytest.mark.parametrize("action", ["opened", "reopened", "synchronize", "edited", "labeled"])
def test_other_pull_request_actions_are_ignored(action: str) -> None:
    ignored = parse_event("pull_request", pull_request_event(action=action))
    assert isinstance(ignored, Ignored)
    assert ignored.reason == (
        f"the pull_request action {action!r} is not handled: only closed pull requests drive "
        "the bot"
    )


def test_a_branch_from_a_fork_is_not_a_model_bot_pull_request() -> None:
    event = pull_request_event()
    event["pull_request"]["head"]["repo"]["full_name"] = "mallory/env"
    ignored = parse_event("pull_request", event)
    assert isinstance(ignored, Ignored)
    assert ignored.reason.startswith(NOT_A_BOT_PULL_REQUEST + ": its branch ")
    assert "'mallory/env', not in 'Codertocat/Hello-World'" in ignored.reason
    event["pull_request"]["head"]["repo"] = None  # the fork was deleted
    deleted = parse_event("pull_request", event)
    assert isinstance(deleted, Ignored) and "'a deleted fork'" in deleted.reason
    event["pull_request"]["head"]["repo"] = {"full_name": "codertocat/hello-world"}
    assert isinstance(parse_event("pull_request", event), ClosedProposal)  # names ignore case


def test_a_hostile_title_is_one_clean_line() -> None:
    event = pull_request_event(title="Promote\n$(rm -rf /)\u202e `x`" + "t" * 10_000_000)
    proposal = parse_event("pull_request", event)
    assert isinstance(proposal, ClosedProposal)
    assert proposal.title.startswith("Promote $(rm -rf /) `x`")
    assert len(proposal.title) == TITLE_LIMIT and clean(proposal.title)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("number", 0, "must be > 0, got 0"),
        ("number", -2, "must be > 0, got -2"),
        ("number", True, "expected an integer, got true"),
        ("number", "2", 'expected an integer, got "2"'),
        ("number", 2.5, "expected an integer"),
        ("number", None, "expected an integer, got null"),
        ("merged", "true", 'expected true or false, got "true"'),
        ("merged", 1, "expected true or false, got 1"),
        ("merged", None, "expected true or false"),
        ("merge_commit_sha", "XYZ", "bad commit sha 'XYZ': use 40 lower-case hex digits"),
        ("merge_commit_sha", SHA.upper(), "bad commit sha"),
        ("merge_commit_sha", SHA + "0", "bad commit sha"),
        ("merge_commit_sha", 5, "expected a string, got 5"),
        ("head.sha", "$(rm -rf /)", "bad commit sha '$(rm -rf /)'"),
        ("head.sha", None, "expected a string, got null"),
        ("base.ref", "a..b", "bad branch name 'a..b': not a git branch name"),
        ("base.ref", "main\n", "bad branch name 'main\\n'"),
        ("base.ref", "", "bad branch name ''"),
        ("base.ref", "-main", "bad branch name"),
        ("base.ref", "a b", "bad branch name"),
        ("base.ref", "a~1", "bad branch name"),
        ("base.ref", "x.lock", "bad branch name"),
        ("base.ref", "a/.b", "bad branch name"),
        ("base.ref", "@", "bad branch name"),
        ("base.ref", "a@{1}", "bad branch name"),
        ("base.ref", "b" * 256, "bad branch name"),
        ("base.ref", ["main"], "expected a string"),
        ("base.repo", "acme/env", "expected a mapping"),
        ("base.repo.full_name", 5, "expected a string, got 5"),
        ("merged_by.login", "a b", "bad GitHub login 'a b'"),
        ("merged_by.login", "-x", "bad GitHub login"),
        ("merged_by.login", 5, "expected a string, got 5"),
        ("merged_by", "octocat", "expected a mapping"),
        ("title", None, "expected a string, got null"),
        ("title", 5, "expected a string, got 5"),
        ("body", 5, "expected a string, got 5"),
    ],
)
def test_a_bad_pull_request_field_is_named(path: str, value: object, expected: str) -> None:
    event = pull_request_event()
    node = event["pull_request"]
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    with pytest.raises(InvalidInput) as error:
        parse_event("pull_request", event)
    [(field, message)] = problems(error)
    assert field == f"pull_request.{path}"
    assert expected in message


def test_a_merged_pull_request_needs_its_merge_commit() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_event("pull_request", pull_request_event(merge_commit_sha=None))
    assert problems(error) == [
        (
            "pull_request",
            "a merged pull request needs merge_commit_sha (40 lower-case hex digits)",
        )
    ]


@pytest.mark.parametrize("missing", ["number", "merged", "head", "base", "title"])
def test_a_missing_pull_request_field_is_named(missing: str) -> None:
    event = pull_request_event()
    del event["pull_request"][missing]
    with pytest.raises(InvalidInput) as error:
        parse_event("pull_request", event)
    assert (f"pull_request.{missing}", "required field is missing (add it)") in problems(error)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "closed"}, "pull_request"),
        ({"action": "closed", "pull_request": None}, "pull_request"),
        ({"action": "closed", "pull_request": {"head": {"ref": 5}}}, "pull_request.head.ref"),
        ({"action": "closed", "pull_request": {"head": None}}, "pull_request.head"),
        ({"pull_request": {}}, "action"),
    ],
)
def test_a_closed_pull_request_that_cannot_be_read(event: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_event("pull_request", event)
    assert field in [where for where, _ in problems(error)]


def test_every_pull_request_problem_at_once() -> None:
    event = pull_request_event(number=True, merge_commit_sha="x", title=None)
    event["pull_request"]["base"]["ref"] = "a..b"
    with pytest.raises(InvalidInput) as error:
        parse_event("pull_request", event)
    assert [field for field, _ in problems(error)] == [
        "pull_request.number",
        "pull_request.merge_commit_sha",
        "pull_request.base.ref",
        "pull_request.title",
    ]


# --- load_event ---------------------------------------------------------------------------


def test_load_event_reads_the_event_file_text() -> None:
    text = json.dumps({"action": DISPATCH_EVENT_TYPE, "client_payload": payload()})
    assert load_event("repository_dispatch", text, "event.json") == dispatch()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "event.json: line 1: invalid JSON: "),
        ('{"action": "a", "action": "b"}', "event.json: invalid JSON: duplicate key 'action'"),
        ("[]", "event.json: (top level): is not a GitHub event (not a JSON object)"),
        (
            json.dumps({"action": DISPATCH_EVENT_TYPE, "client_payload": payload(revision=7)}),
            "event.json: client_payload.revision: expected a string, got 7",
        ),
    ],
)
def test_load_event_refuses_what_does_not_parse(text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as error:
        load_event("repository_dispatch", text, "event.json")
    assert str(error.value).startswith(expected)


def test_load_event_refuses_a_huge_file_unread() -> None:
    with pytest.raises(InvalidInput) as error:
        load_event("repository_dispatch", " " * (17 * 1024 * 1024), "event.json")
    assert "over the 16 MiB limit" in str(error.value)
