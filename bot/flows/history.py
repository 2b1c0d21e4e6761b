"""`model-bot history`: the deployment ledger of one model in one environment, newest first,
or (`--at`) the version that served at a given time. Read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.ledger import Entry, Hold, Ledger
from bot.flows.ledger import deployment_at_head, landed_commits, read_ledger
from bot.ports import SessionOpener


@dataclass(frozen=True)
class HistoryOptions:
    model: str
    environment: str
    limit: int = 20
    at: datetime | None = None


@dataclass(frozen=True)
class HistoryResult:
    ledger: Ledger
    holds: tuple[Hold, ...]
    at_entry: Entry | None  # with `at`: the entry in force then
    warnings: tuple[str, ...] = ()


def history(options: HistoryOptions, open_session: SessionOpener) -> HistoryResult:
    session = open_session([])
    try:
        landed = landed_commits(session)
        deployment = deployment_at_head(session, options.model, options.environment, landed)
        read = read_ledger(
            session,
            options.model,
            options.environment,
            deployment=deployment,
            enrich=options.limit,
            landed=landed,
        )
    finally:
        session.close()
    ledger = read.ledger
    holds = tuple(sorted(ledger.holds().values(), key=lambda hold: hold.version))
    at_entry = ledger.at(options.at) if options.at is not None else None
    return HistoryResult(ledger, holds, at_entry, read.warnings)


__all__ = ["HistoryOptions", "HistoryResult", "history"]
