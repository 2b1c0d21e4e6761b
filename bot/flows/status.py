"""`model-bot status`: every model in every environment (or one): the version it runs, since
when, its open promotion or rollback pull requests, held versions, and whether the latest
promotion is still a canary (younger than the policy's analysis window). Read only.

The base's commits are read once and every model's ledger is built from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.config import BotConfig
from bot.core.ladder import SoakState, soak_state
from bot.core.ledger import Ledger
from bot.core.marker import read_marker
from bot.core.names import parse_bot_branch
from bot.core.policy import Analysis, Policy, duration_seconds
from bot.core.status import OpenProposal, StatusRow, as_utc, status_row
from bot.flows.ledger import (
    deployment_at_head,
    environments_of,
    landed_commits,
    model_folders,
    read_ledger,
)
from bot.flows.session import read_config
from bot.ports import EnvSession, SessionOpener


@dataclass(frozen=True)
class StatusOptions:
    environment: str | None = None  # None: every environment


@dataclass(frozen=True)
class StatusResult:
    rows: tuple[StatusRow, ...]
    warnings: tuple[str, ...] = ()


def analysis_window(policy: Policy | None, environment: str) -> timedelta:
    """How long a promotion stays a canary: the longest metric's initial delay plus its
    measurements (`interval` x `count`) of the environment's analysis; with no metrics (or
    no policy), the analysis's own interval x count (5 minutes by default)."""
    analysis = policy.for_environment(environment).analysis if policy else Analysis()
    delay = duration_seconds(analysis.initial_delay) if analysis.initial_delay else 0
    longest = delay + duration_seconds(analysis.interval) * analysis.count
    for metric in analysis.metrics:
        settings = analysis.settings(metric)
        measured = duration_seconds(settings.interval) * settings.count
        longest = max(longest, delay + measured)
    return timedelta(seconds=longest)


def status(
    options: StatusOptions, policy: Policy | None, open_session: SessionOpener, now: datetime
) -> StatusResult:
    session = open_session([])
    try:
        return _status(session, options, policy, now)
    finally:
        session.close()


def _status(
    session: EnvSession, options: StatusOptions, policy: Policy | None, now: datetime
) -> StatusResult:
    workspace = session.workspace
    config = read_config(workspace)
    environments = environments_of(session, config, options.environment)
    landed = landed_commits(session)
    proposals = _open_proposals(session)
    rows: list[StatusRow] = []
    warnings: list[str] = []
    for environment in environments:
        folders = model_folders(session, config, environment)
        window = analysis_window(policy, environment)
        for model, files in sorted(folders.items()):
            deployment = deployment_at_head(
                session, model, environment, landed, config, files=files, checked=True
            )
            # The row names the pull request of the entry in force (a merge commit's or a
            # rebased commit's claim does not: the forge is asked); of the holds only the
            # versions are shown, so their rollbacks' pull requests are not asked.
            read = read_ledger(
                session,
                model,
                environment,
                deployment=deployment,
                enrich=1,
                landed=landed,
                enrich_holds=False,
            )
            warnings += read.warnings
            soak = _soak(config, environment, read.ledger, now)
            rows.append(
                status_row(
                    read.ledger,
                    proposals.get((model, environment), ()),
                    read.ledger.holds(),
                    window,
                    now,
                    soak,
                )
            )
    return StatusResult(tuple(rows), tuple(warnings))


def _soak(config: BotConfig, environment: str, ledger: Ledger, now: datetime) -> SoakState | None:
    """How far the version in force is through its soak, where `advance` moves it on."""
    env_config = config.environment(environment)
    if not env_config.next:
        return None
    duration = timedelta(seconds=duration_seconds(env_config.soak.duration))
    return soak_state(ledger, duration, as_utc(now))


def _open_proposals(
    session: EnvSession,
) -> Mapping[tuple[str, str], Sequence[OpenProposal]]:
    """The bot's open pull requests (a forge), by (model, environment)."""
    forge = session.forge
    if forge is None:
        return {}
    found: dict[tuple[str, str], list[OpenProposal]] = {}
    for pull in forge.open_pulls():
        branch = parse_bot_branch(pull.head_ref)
        meta = read_marker(pull.body)
        if branch is None or meta is None:
            continue
        found.setdefault((branch.model, branch.environment), []).append(
            OpenProposal(
                number=pull.number,
                url=pull.url,
                action="rollback" if branch.kind == "rollback" else "promote",
                version=meta.version,
                branch=pull.head_ref,
            )
        )
    return found


__all__ = ["StatusOptions", "StatusResult", "analysis_window", "status"]
