"""The bot's error tree. Only `bot.cli` turns these into messages and exit codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

EXIT_OK = 0
EXIT_NO = 1
EXIT_USAGE = 2
EXIT_INCONCLUSIVE = 3


class BotError(Exception):
    """Base of every error the bot raises on purpose; `exit_code` is what the CLI returns."""

    exit_code = EXIT_USAGE


class UsageError(BotError):
    """Bad input: a file, flag or name the user must fix. Its message is one line."""


class Problem:
    """One problem found while validating input: where it is and how to fix it."""

    __slots__ = ("field", "message", "source")

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self.source!r}, {self.field!r}, {self.message!r})"


class InvalidInput(UsageError):
    """Every problem of one input at once; the message joins them on one line with '; '."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, source: str, field: str, message: str) -> InvalidInput:
        return cls([Problem(source, field, message)])

    @classmethod
    def merge(cls, errors: Iterable[InvalidInput]) -> InvalidInput:
        return cls([p for e in errors for p in e.problems])


class ExternalError(BotError):
    """A real system (git, GitHub, MLflow) refused or failed; the message says what to fix."""


class Refused(ExternalError):
    """The system understood the request and said no (403, 404): asking again will not help;
    callers for whom the call is best effort (labels) turn it into a warning."""


class AnalysisInconclusive(BotError):
    """Prometheus could not answer well enough to judge; never a reason to revert."""

    exit_code = EXIT_INCONCLUSIVE
