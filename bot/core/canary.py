"""A canary being judged and what came of judging it. Pure values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.analysis import Verdict
from bot.core.pulls import PullRequestInfo
from bot.core.rollback import RollbackResult

Action = Literal["none", "rollback", "notify"]
AnalyzeOutcome = Literal["created", "updated", "unchanged", "blocked"]


@dataclass(frozen=True)
class Canary:
    """What is being judged, as the env repo tells it."""

    model: str
    environment: str
    version: str
    previous: str | None
    namespace: str
    prometheus_url: str


@dataclass(frozen=True)
class AnalyzeResult:
    canary: Canary
    verdict: Verdict
    evidence: str  # markdown: `bot.text.analysis.evidence_markdown(verdict, canary)`
    action: Action
    outcome: AnalyzeOutcome
    rollback: RollbackResult | None = None
    notified: PullRequestInfo | None = None  # the promotion PR that got the evidence
    reason: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def pull_request(self) -> PullRequestInfo | None:
        if self.rollback is not None and self.rollback.pull_request is not None:
            return self.rollback.pull_request
        return self.notified


__all__ = ["Action", "AnalyzeOutcome", "AnalyzeResult", "Canary"]
