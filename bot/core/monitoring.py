"""The `monitoring:` section of a policy: what `model-bot monitor` watches after a canary.

Signals are PromQL queries with a healthy condition over a window (data drift such as a PSI
or KS statistic per feature, prediction drift, quality on delayed labels, service SLOs); a
signal with `relative_to_evidence` is judged as the ratio of its value to the deployed
version's gate evidence (`result >= 0.95`: "not dropped by more than 5%"). Plus a maximum
model age, a cooldown between dispatches, and the retraining target. Only what a valid
section is lives here; judging is `bot.core.monitor`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, model_validator

from bot.core.expressions import Comparison, ExpressionError, parse_condition, parse_gate
from bot.core.names import is_dns_label

_DURATION = re.compile(r"^([1-9]\d{0,5})(s|m|h|d)\Z")
_OWNER_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}\Z")
_WORKFLOW_FILE = re.compile(r"^[A-Za-z0-9._-]{1,100}\.ya?ml\Z")
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9._:-]{1,100}\Z")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}\Z")
_REF = re.compile(r"^(?!.*\.\.)(?!/)[A-Za-z0-9._/-]{1,200}(?<!/)\Z")
#: The inputs the bot itself passes to the training workflow (see README "Monitoring").
BOT_INPUTS = ("model", "environment", "deployed_version", "reason", "drift_issue")
#: GitHub accepts at most 25 inputs on a workflow_dispatch (10 top-level keys of a
#: repository_dispatch's client_payload): the bot's five plus these.
MAX_EXTRA_INPUTS = 5


def monitor_duration_seconds(text: str) -> int:
    """`30m` / `6h` / `7d` -> seconds (windows and cooldowns are often days long)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"bad duration {text!r} (a whole number with s, m, h or d, e.g. 24h)")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _check_duration(text: str) -> str:
    monitor_duration_seconds(text)
    return text


LongDuration = Annotated[str, AfterValidator(_check_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(_Strict):
    """One watched query: healthy while `condition` holds on its samples of the window."""

    name: str = Field(description="a DNS label, e.g. feature-psi")
    query: str = Field(
        description="PromQL; may use {{ model }}, {{ environment }}, {{ namespace }}"
    )
    condition: str = Field(description="healthy condition on result, e.g. 'result < 0.2'")
    window: LongDuration = Field(
        default="1h",
        description="samples of this long before now count, and only those since the "
        "deployed version was deployed",
    )
    step: LongDuration = Field(default="5m", description="one sample every step")
    failure_limit: StrictInt = Field(
        default=0, ge=0, description="breached when more samples than this fail the condition"
    )
    relative_to_evidence: str | None = Field(
        default=None,
        description="a metric of the deployed version's gate evidence: result is the query's "
        "value divided by it (result >= 0.95: not dropped by more than 5%)",
    )

    @model_validator(mode="after")
    def _valid(self) -> Signal:
        if not is_dns_label(self.name):
            raise ValueError(
                f"bad signal name {self.name!r} (lowercase letters, digits and '-', e.g. feature-psi)"
            )
        if not self.query.strip():
            raise ValueError("empty query (write a PromQL expression)")
        try:
            parse_condition(self.condition)
        except ExpressionError as error:
            raise ValueError(str(error)) from None
        if self.relative_to_evidence is not None:
            try:
                parse_gate(f"{self.relative_to_evidence} > 0")
            except ExpressionError:
                raise ValueError(
                    f"bad evidence metric {self.relative_to_evidence!r} (e.g. accuracy)"
                ) from None
        window, step = monitor_duration_seconds(self.window), monitor_duration_seconds(self.step)
        if step > window:
            raise ValueError(f"step {self.step} is longer than window {self.window}")
        if window // step > 11_000:
            raise ValueError(
                f"window {self.window} / step {self.step} is over 11,000 samples "
                "(Prometheus' limit): use a longer step"
            )
        return self

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return parse_condition(self.condition)


class Retrain(_Strict):
    """Where retraining starts: a workflow (`workflow_dispatch`) or a `repository_dispatch`."""

    repository: str = Field(description="OWNER/NAME of the training repository")
    workflow: str | None = Field(
        default=None, description="workflow file under .github/workflows, e.g. train.yml"
    )
    ref: str | None = Field(
        default=None, description="branch the workflow runs on [default: the default branch]"
    )
    event_type: str | None = Field(
        default=None, description="a repository_dispatch event type instead of a workflow"
    )
    inputs: dict[str, str] = Field(default={}, description="extra inputs passed as given (strings)")

    @model_validator(mode="after")
    def _valid(self) -> Retrain:
        if not _OWNER_NAME.match(self.repository):
            raise ValueError(f"bad repository {self.repository!r} (OWNER/NAME, e.g. acme/training)")
        if (self.workflow is None) == (self.event_type is None):
            raise ValueError("give either workflow (e.g. train.yml) or event_type, not both")
        if self.workflow is not None and not _WORKFLOW_FILE.match(self.workflow):
            raise ValueError(
                f"bad workflow {self.workflow!r} (a file name under .github/workflows, e.g. train.yml)"
            )
        if self.event_type is not None and not _EVENT_TYPE.match(self.event_type):
            raise ValueError(f"bad event_type {self.event_type!r} (e.g. model-bot-retrain)")
        if self.ref is not None and (self.event_type is not None or not _REF.match(self.ref)):
            raise ValueError(
                f"bad ref {self.ref!r} (a branch name, and only with workflow: a "
                "repository_dispatch runs on the default branch)"
            )
        for name in self.inputs:
            if not _INPUT_NAME.match(name):
                raise ValueError(f"bad input name {name!r} (letters, digits, _ and -)")
            if name in BOT_INPUTS:
                raise ValueError(f"input {name!r} is passed by the bot itself: rename it")
        if len(self.inputs) > MAX_EXTRA_INPUTS:
            raise ValueError(f"at most {MAX_EXTRA_INPUTS} extra inputs (GitHub's limits)")
        return self


class Monitoring(_Strict):
    signals: tuple[Signal, ...] = ()
    max_age_days: StrictInt | None = Field(
        default=None, ge=1, le=3650, description="retrain when the deployed version is older"
    )
    cooldown: LongDuration = Field(
        default="24h", description="no second dispatch for the same drift within this time"
    )
    label: str = Field(
        default="model-bot:drift", description="label of the tracking issues", min_length=1
    )
    retrain: Retrain | None = None

    @model_validator(mode="after")
    def _unique(self) -> Monitoring:
        names = [s.name for s in self.signals]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"signal names must be unique, {', '.join(dupes)} repeats")
        if len(self.label) > 50 or "," in self.label:
            raise ValueError("label: at most 50 characters, no comma")
        return self


__all__ = [
    "BOT_INPUTS",
    "Monitoring",
    "Retrain",
    "Signal",
    "monitor_duration_seconds",
]
