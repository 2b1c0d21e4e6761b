"""The deployment ledger: claims, entries, holds, gaps and bisection (bot.core.ledger)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.core.ledger import (
    Entry,
    Gap,
    LandedCommit,
    Ledger,
    ManualEdit,
    PullFacts,
    build_ledger,
    claim_trailers,
    find_changes,
    suspect_gaps,
)
from bot.core.marker import ProposalMeta
from bot.core.trailers import (
    GATE,
    HOLD_LIFTED,
    IMAGE_TAG,
    MODEL_VERSION,
    PREVIOUS_VERSION,
    REASON,
    REQUESTED_BY,
    bot_trailers,
    format_commit_message,
)

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
MODEL = "fraud"
ENV = "production"


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def trailers(
    action: str,
    version: str,
    previous: str | None,
    *,
    model: str = MODEL,
    environment: str = ENV,
    **extra: str,
) -> dict[str, str]:
    meta = ProposalMeta(action, model, environment, version, previous)
    return bot_trailers(meta, {key.replace("_", "-"): value for key, value in extra.items()})


def landed(
    sha: str,
    hours: int,
    own: dict[str, str] | None = None,
    *,
    message: str | None = None,
    tip: dict[str, str] | None = None,
    pull: PullFacts | None = None,
) -> LandedCommit:
    return LandedCommit(
        sha=sha,
        landed_at=at(hours),
        message=message if message is not None else f"change {sha}",
        trailers=own or {},
        merged_tip_trailers=tip,
        pull=pull,
    )


def promote(sha: str, hours: int, version: str, previous: str | None, **extra: str) -> LandedCommit:
    return landed(sha, hours, trailers("promote", version, previous, **extra))


def rollback(sha: str, hours: int, version: str, previous: str, **extra: str) -> LandedCommit:
    return landed(sha, hours, trailers("rollback", version, previous, **extra))


def plain(sha: str, hours: int) -> LandedCommit:
    return landed(sha, hours)


def pull(number: int = 7, body: str = "", merged_by: str | None = "alice") -> PullFacts:
    return PullFacts(
        number=number,
        url=f"https://github.test/env/pull/{number}",
        body=body,
        merged_by=merged_by,
        approved_by=("bob", "carol"),
    )


def marker(
    version: str,
    previous: str | None,
    *,
    action: str = "promote",
    model: str = MODEL,
    environment: str = ENV,
    with_trailers: dict[str, str] | None = None,
) -> str:
    meta = ProposalMeta(action, model, environment, version, previous, with_trailers)
    return f"Promote {model} {version}\n\nSome description.\n\n{meta.marker()}\n"


# --------------------------------------------------------------------------- claim_trailers


def test_a_bot_commit_claims_with_its_own_trailers() -> None:
    own = trailers("promote", "3", "2")
    assert claim_trailers(landed("a", 0, own), MODEL, ENV) == own


def test_a_merge_commit_claims_with_its_merged_tips_trailers() -> None:
    tip = trailers("promote", "3", "2")
    assert claim_trailers(landed("m", 0, tip=tip), MODEL, ENV) == tip


def test_own_trailers_win_over_the_merged_tip() -> None:
    own = trailers("rollback", "2", "3")
    tip = trailers("promote", "3", "2")
    assert claim_trailers(landed("m", 0, own, tip=tip), MODEL, ENV) == own


def test_the_merged_tip_is_read_when_own_trailers_are_about_another_model() -> None:
    own = trailers("promote", "9", None, model="churn")
    tip = trailers("promote", "3", "2")
    assert claim_trailers(landed("m", 0, own, tip=tip), MODEL, ENV) == tip


def test_a_squash_message_marker_with_trailers_claims_with_those_trailers() -> None:
    kept = trailers("promote", "3", "2", Gate="PASS 5/5 gates")
    commit = landed("s", 0, message=marker("3", "2", with_trailers=kept))
    assert claim_trailers(commit, MODEL, ENV) == kept


def test_a_squash_message_marker_without_trailers_claims_with_its_fields() -> None:
    commit = landed("s", 0, message=marker("3", None, action="rollback"))
    assert claim_trailers(commit, MODEL, ENV) == {
        "Model": MODEL,
        "Model-Version": "3",
        "Previous-Version": "none",
        "Environment": ENV,
        "Action": "rollback",
    }


def test_a_pull_request_body_marker_claims_when_the_message_has_none() -> None:
    kept = trailers("promote", "3", "2", Requested_By="dave")
    commit = landed("s", 0, pull=pull(body=marker("3", "2", with_trailers=kept)))
    assert claim_trailers(commit, MODEL, ENV) == kept


def test_the_message_marker_wins_over_the_pull_request_body() -> None:
    commit = landed("s", 0, message=marker("3", "2"), pull=pull(body=marker("4", "3")))
    claimed = claim_trailers(commit, MODEL, ENV)
    assert claimed is not None
    assert claimed[MODEL_VERSION] == "3"


def test_a_marker_about_another_model_or_environment_is_no_claim() -> None:
    for other in (marker("3", "2", model="churn"), marker("3", "2", environment="staging")):
        commit = landed("s", 0, message=other, pull=pull(body=other))
        assert claim_trailers(commit, MODEL, ENV) is None


def test_marker_trailers_naming_another_model_than_the_marker_are_no_claim() -> None:
    contradicting = trailers("promote", "3", "2", model="churn")
    commit = landed("s", 0, message=marker("3", "2", with_trailers=contradicting))
    assert claim_trailers(commit, MODEL, ENV) is None


def test_trailers_about_another_model_or_environment_are_ignored() -> None:
    for own in (
        trailers("promote", "3", "2", model="churn"),
        trailers("promote", "3", "2", environment="staging"),
    ):
        assert claim_trailers(landed("a", 0, own, tip=own), MODEL, ENV) is None


def test_a_commit_the_bot_did_not_make_claims_nothing() -> None:
    human = {"Signed-off-by": "Eve <eve@example.test>", "Model": MODEL, "Environment": ENV}
    message = format_commit_message("bump replicas", "", human)
    commit = landed("h", 0, human, message=message, tip={}, pull=pull(body="no marker here"))
    assert claim_trailers(commit, MODEL, ENV) is None


def test_an_unknown_action_is_no_claim() -> None:
    odd = {**trailers("promote", "3", "2"), "Action": "delete"}
    assert claim_trailers(landed("a", 0, odd), MODEL, ENV) is None


# --------------------------------------------------------------------------- build_ledger


def test_entries_carry_every_fact_of_the_claim_and_the_pull_request() -> None:
    commit = LandedCommit(
        sha="a",
        landed_at=at(1),
        message="promote",
        trailers=trailers(
            "promote",
            "3",
            "2",
            Image_Tag="v3",
            Gate="PASS 5/5 gates",
            Requested_By="dave",
            Hold_Lifted="fixed upstream",
        ),
        pull=pull(12),
    )
    [entry] = build_ledger(MODEL, ENV, [commit]).entries
    assert entry == Entry(
        model=MODEL,
        environment=ENV,
        version="3",
        previous_version="2",
        action="promote",
        commit="a",
        at=at(1),
        image_tag="v3",
        pull_number=12,
        pull_url="https://github.test/env/pull/12",
        merged_by="alice",
        approved_by=("bob", "carol"),
        gate="PASS 5/5 gates",
        reason=None,
        requested_by="dave",
        hold_lifted="fixed upstream",
    )


def test_a_rollback_entry_carries_its_reason() -> None:
    commit = rollback("r", 2, "2", "3", Reason="error rate", Requested_By="erin")
    [entry] = build_ledger(MODEL, ENV, [commit]).entries
    assert (entry.action, entry.version, entry.previous_version) == ("rollback", "2", "3")
    assert (entry.reason, entry.requested_by) == ("error rate", "erin")
    assert entry.pull_number is None and entry.approved_by == ()


@pytest.mark.parametrize("previous", ["none", ""])
def test_a_first_promotion_has_no_previous_version(previous: str) -> None:
    own = {**trailers("promote", "1", None), PREVIOUS_VERSION: previous}
    [entry] = build_ledger(MODEL, ENV, [landed("a", 0, own)]).entries
    assert entry.previous_version is None


def test_empty_trailer_values_read_as_absent() -> None:
    own = {**trailers("rollback", "1", "2"), IMAGE_TAG: "", GATE: "", REASON: "", REQUESTED_BY: ""}
    own[HOLD_LIFTED] = ""
    [entry] = build_ledger(MODEL, ENV, [landed("a", 0, own)]).entries
    assert (entry.image_tag, entry.gate, entry.reason, entry.requested_by) == (None,) * 4
    assert entry.hold_lifted is None


def test_a_claim_without_a_model_version_is_skipped() -> None:
    own = trailers("promote", "3", "2")
    del own[MODEL_VERSION]
    assert build_ledger(MODEL, ENV, [landed("a", 0, own)]).entries == ()


def test_entries_from_every_source_in_first_parent_order() -> None:
    history = [
        landed("d", 4, pull=pull(4, body=marker("4", "3"))),  # squash, description dropped
        landed("c", 3, message=marker("3", "2")),  # squash keeping the description
        landed("b", 2, tip=trailers("promote", "2", "1")),  # merge commit
        promote("a", 1, "1", None),  # local mode
    ]
    ledger = build_ledger(MODEL, ENV, history)
    assert [(e.commit, e.version, e.previous_version) for e in ledger.entries] == [
        ("d", "4", "3"),
        ("c", "3", "2"),
        ("b", "2", "1"),
        ("a", "1", None),
    ]
    assert ledger.entries[0].pull_number == 4


def test_other_models_environments_and_plain_commits_make_no_entries() -> None:
    history = [
        promote("e", 5, "9", "8"),
        landed("d", 4, trailers("promote", "7", "6", model="churn")),
        landed("c", 3, trailers("promote", "5", "4", environment="staging")),
        plain("b", 2),
        promote("a", 1, "8", None),
    ]
    assert [e.commit for e in build_ledger(MODEL, ENV, history).entries] == ["e", "a"]


def test_the_first_parent_order_wins_over_committer_times() -> None:
    # A commit whose clock ran ahead still sits where the base history puts it.
    history = [promote("b", 1, "2", "1"), promote("a", 5, "1", None)]
    assert [e.commit for e in build_ledger(MODEL, ENV, history).entries] == ["b", "a"]


def manual(commit: LandedCommit, version: str | None, previous: str | None) -> ManualEdit:
    return ManualEdit(commit=commit, version=version, previous_version=previous)


def test_manual_edits_sit_where_their_commits_are_in_the_history() -> None:
    edit_c, edit_a = plain("c", 3), plain("a", 1)
    history = [promote("d", 4, "3", "x"), edit_c, promote("b", 2, "2", "1"), edit_a]
    ledger = build_ledger(
        MODEL, ENV, history, [manual(edit_a, "1", None), manual(edit_c, "x", "2")]
    )
    assert [(e.commit, e.action, e.version, e.previous_version) for e in ledger.entries] == [
        ("d", "promote", "3", "x"),
        ("c", "manual", "x", "2"),
        ("b", "promote", "2", "1"),
        ("a", "manual", "1", None),
    ]
    assert ledger.entries[1].at == at(3)


def test_a_manual_edit_outside_the_history_is_placed_by_its_time() -> None:
    history = [promote("c", 30, "3", "2"), promote("b", 20, "2", "1")]
    edits = [
        manual(plain("late", 40), "4", "3"),
        manual(plain("mid", 25), "2b", "2"),
        manual(plain("early", 10), "1", None),
        manual(plain("tie", 20), "2c", "2"),  # same time as b: after it (stable)
    ]
    ledger = build_ledger(MODEL, ENV, history, edits)
    assert [e.commit for e in ledger.entries] == ["late", "c", "mid", "b", "tie", "early"]


def test_manual_edits_of_the_same_time_keep_their_order() -> None:
    edits = [manual(plain("x", 1), "2", "1"), manual(plain("y", 1), "3", "2")]
    assert [e.commit for e in build_ledger(MODEL, ENV, [], edits).entries] == ["x", "y"]


def test_a_manual_edit_carries_its_commits_pull_request() -> None:
    commit = landed("h", 1, pull=pull(21, body="hand edit", merged_by="frank"))
    [entry] = build_ledger(MODEL, ENV, [commit], [manual(commit, "5", "4")]).entries
    assert (entry.action, entry.pull_number, entry.merged_by) == ("manual", 21, "frank")
    assert entry.approved_by == ("bob", "carol")


def test_a_claim_wins_over_a_manual_edit_of_the_same_commit() -> None:
    commit = promote("a", 1, "2", "1")
    ledger = build_ledger(MODEL, ENV, [commit], [manual(commit, "2", "1")])
    assert [(e.commit, e.action) for e in ledger.entries] == [("a", "promote")]


def test_a_manual_edit_passed_twice_makes_one_entry() -> None:
    commit = plain("h", 1)
    ledger = build_ledger(MODEL, ENV, [commit], [manual(commit, "2", "1")] * 2)
    assert len(ledger.entries) == 1


def test_a_manual_edit_may_remove_the_version() -> None:
    commit = plain("h", 1)
    [entry] = build_ledger(MODEL, ENV, [commit], [manual(commit, None, "2")]).entries
    assert (entry.version, entry.previous_version) == (None, "2")


# --------------------------------------------------------------------------- current and at


def three_promotions() -> Ledger:
    return build_ledger(
        MODEL,
        ENV,
        [promote("c", 3, "3", "2"), promote("b", 2, "2", "1"), promote("a", 1, "1", None)],
    )


def test_current_is_the_newest_entry() -> None:
    current = three_promotions().current
    assert current is not None and current.commit == "c"
    assert build_ledger(MODEL, ENV, []).current is None


def test_at_a_commits_exact_time_that_commit_is_in_force() -> None:
    entry = three_promotions().at(at(2))
    assert entry is not None and entry.version == "2"


def test_at_between_commits_the_older_is_in_force() -> None:
    entry = three_promotions().at(at(2) + timedelta(minutes=59))
    assert entry is not None and entry.version == "2"
    just_before = three_promotions().at(at(2) - timedelta(microseconds=1))
    assert just_before is not None and just_before.version == "1"


def test_at_before_the_first_entry_nothing_is_in_force() -> None:
    assert three_promotions().at(at(1) - timedelta(seconds=1)) is None
    assert build_ledger(MODEL, ENV, []).at(at(1)) is None


def test_after_the_last_entry_the_newest_is_in_force() -> None:
    entry = three_promotions().at(at(1000))
    assert entry is not None and entry.version == "3"


def test_at_compares_instants_not_wall_clocks() -> None:
    plus_two = timezone(timedelta(hours=2))
    when = datetime(2025, 1, 1, 16, 0, tzinfo=plus_two)  # 14:00 UTC: b landed then
    entry = three_promotions().at(when)
    assert entry is not None and entry.commit == "b"


# --------------------------------------------------------------------------- holds


def held(history: list[LandedCommit], environment: str = ENV) -> dict[str, str]:
    """Each held version with the rollback commit that holds it."""
    holds = build_ledger(MODEL, environment, history).holds()
    assert all(version == hold.version for version, hold in holds.items())
    return {version: hold.rollback.commit for version, hold in holds.items()}


def test_a_rollback_holds_the_version_it_rolled_back_from() -> None:
    history = [rollback("r", 3, "1", "2"), promote("b", 2, "2", "1"), promote("a", 1, "1", None)]
    assert held(history) == {"2": "r"}


def test_a_hold_carries_the_rollback_entry() -> None:
    history = [rollback("r", 3, "1", "2", Reason="latency"), promote("b", 2, "2", "1")]
    hold = build_ledger(MODEL, ENV, history).holds()["2"]
    assert (hold.rollback.action, hold.rollback.reason) == ("rollback", "latency")


def test_no_rollback_no_hold() -> None:
    assert held([promote("b", 2, "2", "1"), promote("a", 1, "1", None)]) == {}


def test_a_newer_version_is_not_held_by_the_rollback_of_an_older_one() -> None:
    history = [
        promote("c", 4, "3", "1"),
        rollback("r", 3, "1", "2"),
        promote("b", 2, "2", "1"),
    ]
    assert held(history) == {"2": "r"}


def test_promoting_again_with_the_hold_lifted_removes_it() -> None:
    history = [
        promote("again", 4, "2", "1", Hold_Lifted="fixed the feature pipeline"),
        rollback("r", 3, "1", "2"),
        promote("b", 2, "2", "1"),
    ]
    assert held(history) == {}


def test_promoting_again_without_lifting_keeps_the_hold() -> None:
    history = [promote("again", 4, "2", "1"), rollback("r", 3, "1", "2"), promote("b", 2, "2", "1")]
    assert held(history) == {"2": "r"}


def test_lifting_the_hold_of_another_version_keeps_this_one() -> None:
    history = [
        promote("c", 4, "3", "1", Hold_Lifted="not held anyway"),
        rollback("r", 3, "1", "2"),
        promote("b", 2, "2", "1"),
    ]
    assert held(history) == {"2": "r"}


def test_a_lift_before_the_rollback_does_not_undo_it() -> None:
    history = [rollback("r", 3, "1", "2"), promote("b", 2, "2", "1", Hold_Lifted="earlier")]
    assert held(history) == {"2": "r"}


def test_rolling_back_again_after_a_lift_holds_again() -> None:
    history = [
        rollback("r2", 5, "1", "2"),
        promote("again", 4, "2", "1", Hold_Lifted="fixed"),
        rollback("r1", 3, "1", "2"),
        promote("b", 2, "2", "1"),
    ]
    assert held(history) == {"2": "r2"}


def test_the_newest_rollback_of_a_version_holds_it() -> None:
    history = [
        rollback("r2", 5, "1", "2"),
        promote("again", 4, "2", "1"),
        rollback("r1", 3, "1", "2"),
        promote("b", 2, "2", "1"),
    ]
    assert held(history) == {"2": "r2"}


def test_several_versions_held_at_once() -> None:
    history = [
        rollback("r3", 5, "1", "3"),
        promote("c", 4, "3", "1"),
        rollback("r2", 3, "1", "2"),
        promote("b", 2, "2", "1"),
    ]
    assert held(history) == {"2": "r2", "3": "r3"}


def test_manual_edits_neither_hold_nor_lift() -> None:
    edit = plain("h", 4)
    history = [edit, rollback("r", 3, "1", "2"), promote("b", 2, "2", "1")]
    holds = build_ledger(MODEL, ENV, history, [manual(edit, "2", "1")]).holds()
    assert list(holds) == ["2"]


def test_holds_are_per_environment() -> None:
    history = [
        landed("s-lift", 6, trailers("promote", "2", "1", environment="staging", Hold_Lifted="ok")),
        landed("s-r", 5, trailers("rollback", "1", "2", environment="staging")),
        rollback("p-r", 4, "1", "2"),
        landed("s-b", 3, trailers("promote", "2", "1", environment="staging")),
        promote("p-b", 2, "2", "1"),
    ]
    assert held(history, ENV) == {"2": "p-r"}
    assert held(history, "staging") == {}


# --------------------------------------------------------------------------- suspect_gaps


def test_no_claims_and_no_version_no_gap() -> None:
    assert suspect_gaps(MODEL, ENV, [plain("a", 1)], None) == []
    assert suspect_gaps(MODEL, ENV, [], None) == []


def test_no_claims_but_a_version_the_whole_history_is_suspect() -> None:
    assert suspect_gaps(MODEL, ENV, [plain("a", 1)], "7") == [Gap(None, None, None, "7")]


def test_claims_that_account_for_everything_leave_no_gap() -> None:
    history = [
        rollback("c", 3, "1", "2"),
        plain("x", 2),
        promote("b", 2, "2", "1"),
        promote("a", 1, "1", None),
    ]
    assert suspect_gaps(MODEL, ENV, history, "1") == []


def test_the_head_declaring_another_version_than_the_newest_claim() -> None:
    history = [plain("x", 3), promote("b", 2, "2", "1"), promote("a", 1, "1", None)]
    assert suspect_gaps(MODEL, ENV, history, "2-hotfix") == [Gap(None, "b", "2", "2-hotfix")]


def test_the_head_declaring_no_version_any_more() -> None:
    history = [promote("a", 1, "1", None)]
    assert suspect_gaps(MODEL, ENV, history, None) == [Gap(None, "a", "1", None)]


def test_a_claims_previous_version_that_the_older_claim_did_not_make() -> None:
    history = [promote("b", 2, "3", "2-hotfix"), promote("a", 1, "2", None)]
    assert suspect_gaps(MODEL, ENV, history, "3") == [Gap("b", "a", "2", "2-hotfix")]


def test_a_claim_replacing_nothing_after_an_older_claim() -> None:
    history = [promote("b", 2, "3", None), promote("a", 1, "2", None)]
    assert suspect_gaps(MODEL, ENV, history, "3") == [Gap("b", "a", "2", None)]


def test_the_version_before_the_oldest_claim_is_not_accounted_for() -> None:
    history = [promote("b", 2, "3", "2"), plain("x", 1)]
    assert suspect_gaps(MODEL, ENV, history, "3") == [Gap("b", None, None, "2")]


def test_every_gap_newest_first() -> None:
    history = [
        plain("y", 5),
        promote("c", 4, "4", "3"),
        promote("b", 3, "3", "2-hotfix"),
        plain("x", 2),
        promote("a", 1, "2", "1"),
    ]
    assert suspect_gaps(MODEL, ENV, history, "5") == [
        Gap(None, "c", "4", "5"),
        Gap("b", "a", "2", "2-hotfix"),
        Gap("a", None, None, "1"),
    ]


def test_gaps_ignore_other_models_and_claims_without_a_version() -> None:
    versionless = trailers("promote", "9", "3")
    del versionless[MODEL_VERSION]
    history = [
        landed("z", 4, versionless),
        landed("o", 3, trailers("promote", "8", "7", model="churn")),
        promote("b", 2, "3", "2"),
        promote("a", 1, "2", None),
    ]
    assert suspect_gaps(MODEL, ENV, history, "3") == []


def test_gaps_read_claims_from_every_source() -> None:
    history = [
        landed("c", 3, pull=pull(body=marker("3", "2"))),
        landed("b", 2, message=marker("2", "1")),
        landed("a", 1, tip=trailers("promote", "1", None)),
    ]
    assert suspect_gaps(MODEL, ENV, history, "3") == []


# --------------------------------------------------------------------------- find_changes


class Folder:
    """What a folder declared after each commit, counting the reads."""

    def __init__(self, versions: dict[str, str | None]) -> None:
        self.versions = versions
        self.reads: list[str] = []

    def __call__(self, sha: str) -> str | None:
        self.reads.append(sha)
        return self.versions[sha]


def history_of(count: int, changes: dict[int, str | None], before: str | None) -> Folder:
    """`count` commits c0..; after commit i the version is `changes[i]` when it changes."""
    versions: dict[str, str | None] = {}
    current = before
    for index in range(count):
        current = changes.get(index, current)
        versions[f"c{index}"] = current
    return Folder(versions)


def search(folder: Folder, before: str | None) -> list[tuple[str, str | None, str | None]]:
    commits = list(folder.versions)
    return find_changes(commits, folder, before, folder.versions[commits[-1]])


def test_one_change_among_1024_commits_takes_log2_reads() -> None:
    folder = history_of(1024, {700: "2"}, "1")
    assert search(folder, "1") == [("c700", "1", "2")]
    assert len(folder.reads) == 10


@pytest.mark.parametrize("index", [0, 1, 511, 512, 1022, 1023])
def test_a_change_anywhere_is_found(index: int) -> None:
    folder = history_of(1024, {index: "2"}, "1")
    assert search(folder, "1") == [(f"c{index}", "1", "2")]
    assert len(folder.reads) <= 10


def test_the_last_commits_version_is_never_read() -> None:
    folder = history_of(5, {4: "2"}, "1")
    assert search(folder, "1") == [("c4", "1", "2")]
    assert "c4" not in folder.reads


def test_several_changes_oldest_first() -> None:
    folder = history_of(100, {3: "2", 40: None, 41: "3", 99: "4"}, "1")
    found = search(folder, "1")
    assert found == [("c3", "1", "2"), ("c40", "2", None), ("c41", None, "3"), ("c99", "3", "4")]
    assert len(folder.reads) < 100 // 2
    assert len(set(folder.reads)) == len(folder.reads)  # each commit read once at most


def test_no_change_reads_nothing() -> None:
    folder = history_of(50, {}, "1")
    assert search(folder, "1") == []
    assert folder.reads == []


def test_an_edit_undone_inside_an_interval_is_not_seen() -> None:
    folder = history_of(8, {2: "x", 3: "1"}, "1")
    assert search(folder, "1") == []
    assert folder.reads == []


def test_no_commits_no_changes() -> None:
    def never(sha: str) -> str | None:
        raise AssertionError(f"read {sha}")

    assert find_changes([], never, "1", "2") == []


def test_a_single_commit_is_the_change_without_a_read() -> None:
    def never(sha: str) -> str | None:
        raise AssertionError(f"read {sha}")

    assert find_changes(["c0"], never, "1", "2") == [("c0", "1", "2")]
    assert find_changes(["c0"], never, "1", "1") == []


def test_a_version_appearing_from_nothing() -> None:
    folder = history_of(16, {9: "1"}, None)
    assert search(folder, None) == [("c9", None, "1")]
