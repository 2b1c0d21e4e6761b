"""The PromQL a policy's analysis metric stands for, filled in for one model and environment.

The AnalysisTemplate (`bot.core.render`) and `model-bot analyze` (`bot.core.analysis`) both call
`effective_query`, so the cluster and the bot always judge the very same query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from bot.core.errors import InvalidInput


@dataclass(frozen=True)
class QueryContext:
    """What a query may refer to: `{{ model }}`, `{{ environment }}`, `{{ namespace }}`.

    Every value is a validated DNS-1123 label, so it cannot break out of a PromQL string.
    """

    model: str
    environment: str
    namespace: str


class MetricQueries(Protocol):
    """What `effective_query` reads of a policy's analysis metric."""

    @property
    def name(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def baseline_query(self) -> str | None: ...


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


@lru_cache(maxsize=256)
def _compiled(query: str) -> Template:
    """Compile each query text once: rendering many models reuses it."""
    return _environment().from_string(query)


def fill_query(query: str, context: QueryContext, field: str = "analysis.metrics") -> str:
    try:
        template = _compiled(query)
        return template.render(
            model=context.model, environment=context.environment, namespace=context.namespace
        )
    except TemplateError as error:
        raise _template_error(field, str(error)) from None
    except Exception as error:  # noqa: BLE001 - any failure of the user's template is its error
        # Python errors at render time: `{{ 1 / 0 }}`, `{{ model + 1 }}`, the sandbox's
        # OverflowError for a too large `range`, a filter's AttributeError or RuntimeError.
        lines = str(error).splitlines()
        detail = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
        raise _template_error(field, detail) from None


def _template_error(field: str, detail: str) -> InvalidInput:
    return InvalidInput.one(
        "policy",
        field,
        f"query template error: {detail} (use only {{{{ model }}}}, {{{{ environment }}}}, {{{{ namespace }}}})",
    )


def effective_query(metric: MetricQueries, context: QueryContext) -> str:
    """The query as evaluated: with a baseline, the canary's value divided by the stable's."""
    field = f"analysis.metrics[{metric.name}]"
    query = fill_query(metric.query, context, f"{field}.query")
    if metric.baseline_query is None:
        return query
    baseline = fill_query(metric.baseline_query, context, f"{field}.baseline_query")
    return f"({query}) / ({baseline})"
