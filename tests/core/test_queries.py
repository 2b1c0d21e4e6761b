"""bot.core.queries: a policy's PromQL template filled in a Jinja sandbox."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from bot.core.errors import InvalidInput
from bot.core.queries import QueryContext, effective_query, fill_query

CONTEXT = QueryContext(model="fraud", environment="prod", namespace="ml-prod")
HINT = "(use only {{ model }}, {{ environment }}, {{ namespace }})"


def refusal(query: str, field: str = "analysis.metrics") -> str:
    with pytest.raises(InvalidInput) as caught:
        fill_query(query, CONTEXT, field)
    [problem] = caught.value.problems
    assert (problem.source, problem.field) == ("policy", field)
    assert str(caught.value) == f"policy: {field}: {problem.message}"
    return problem.message


def test_query_context_is_a_frozen_value() -> None:
    assert QueryContext("fraud", "prod", "ml-prod") == CONTEXT
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONTEXT.model = "other"  # type: ignore[misc]


# --- fill_query -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("up", "up"),
        ("{{ model }}", "fraud"),
        ("{{ environment }}/{{ namespace }}", "prod/ml-prod"),
        ("{{model}}{{environment}}{{namespace}}", "fraudprodml-prod"),
        # PromQL's own braces and brackets are left alone.
        (
            'sum(rate(http_requests_total{app="{{ model }}",namespace="{{ namespace }}",code=~"5.."}[2m]))',
            'sum(rate(http_requests_total{app="fraud",namespace="ml-prod",code=~"5.."}[2m]))',
        ),
        ('x{a="b"}', 'x{a="b"}'),
        ("{{ model | upper }}", "FRAUD"),
        ("{{ model ~ '-canary' }}", "fraud-canary"),
        ("{# a note #}up", "up"),
        ("{{- model -}} ", "fraud"),
        ("{% if environment == 'prod' %}a{% else %}b{% endif %}", "a"),
        # keep_trailing_newline=False: one trailing newline goes (YAML block scalars add one).
        ("up{app='{{ model }}'}\n", "up{app='fraud'}"),
        ("up\n\n", "up\n"),
        ("line1\nline2", "line1\nline2"),
        # Jinja does not escape: the values are DNS labels, safe in a PromQL string.
        ("{{ '<&>' }}", "<&>"),
    ],
)
def test_fill_query(query: str, expected: str) -> None:
    assert fill_query(query, CONTEXT) == expected


def test_fill_query_with_another_context_is_not_cached() -> None:
    other = QueryContext(model="churn", environment="staging", namespace="ml-staging")
    query = "{{ model }}@{{ environment }}"
    assert fill_query(query, CONTEXT) == "fraud@prod"
    assert fill_query(query, other) == "churn@staging"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        # StrictUndefined: every unknown name is an error, not an empty string.
        ("{{ version }}", "'version' is undefined"),
        ("up{app='{{ modle }}'}", "'modle' is undefined"),
        ("{% if canary %}x{% endif %}", "'canary' is undefined"),
        ("{{ model.name }}", "'str object' has no attribute 'name'"),
        ("{{ config }}", "'config' is undefined"),
        # Syntax errors.
        ("{{ model ", "unexpected end of template, expected 'end of print statement'."),
        ("{{ }}", "Expected an expression, got 'end of print statement'"),
        ("{% fetch %}", "Encountered unknown tag 'fetch'."),
        ("{{ model | nosuchfilter }}", "No filter named 'nosuchfilter'."),
    ],
)
def test_fill_query_refuses(query: str, error: str) -> None:
    assert refusal(query) == f"query template error: {error} {HINT}"


@pytest.mark.parametrize(
    ("query", "attribute", "owner"),
    [
        ("{{ model.__class__ }}", "__class__", "str"),
        ("{{ model.__class__.__mro__[1].__subclasses__() }}", "__class__", "str"),
        ("{{ ''.__class__ }}", "__class__", "str"),
        ("{{ model.__len__() }}", "__len__", "str"),
        ("{{ lipsum.__globals__ }}", "__globals__", "function"),
        ("{{ lipsum.__globals__['os'].system('true') }}", "__globals__", "function"),
        ("{{ cycler.__init__.__globals__ }}", "__init__", "type"),
        ("{{ joiner.__init__ }}", "__init__", "type"),
        # `namespace` is the context's string, not Jinja's namespace() global.
        ("{{ namespace.__init__ }}", "__init__", "str"),
        ("{{ range.__globals__ }}", "__globals__", "function"),
        ("{{ model['__class__'] }}", "__class__", "str"),
        ("{{ (model|attr('__class__')) }}", "__class__", "str"),
    ],
)
def test_sandbox_refuses_internals(query: str, attribute: str, owner: str) -> None:
    assert refusal(query) == (
        f"query template error: access to attribute {attribute!r} of {owner!r} object "
        f"is unsafe. {HINT}"
    )


def test_fill_query_names_the_given_field() -> None:
    message = refusal("{{ nope }}", "analysis.metrics[error-rate].query")
    assert message == f"query template error: 'nope' is undefined {HINT}"


def test_a_refused_query_does_not_poison_the_next_one() -> None:
    refusal("{{ broken ")
    assert fill_query("{{ model }}", CONTEXT) == "fraud"


@pytest.mark.parametrize(
    "query",
    [
        "{{ 1 / 0 }}",
        "{{ model + 1 }}",
        "{{ range(1000000) | list | length }}",
    ],
)
def test_runtime_errors_in_a_query_are_invalid_input(query: str) -> None:
    with pytest.raises(InvalidInput):
        fill_query(query, CONTEXT)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
        ("{{ model + 1 }}", 'TypeError: can only concatenate str (not "int") to str'),
        ("{{ model|dictsort }}", "AttributeError: 'str' object has no attribute 'items'"),
    ],
)
def test_runtime_error_names_the_field(query: str, error: str) -> None:
    message = refusal(query, "analysis.metrics[error-rate].query")
    assert message == f"query template error: {error} {HINT}"


# --- effective_query ------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """What effective_query reads of a policy's analysis metric (name, query, baseline_query)."""

    name: str
    query: str
    baseline_query: str | None = None


def metric(query: str, baseline_query: str | None = None) -> Metric:
    return Metric(name="error-rate", query=query, baseline_query=baseline_query)


def test_effective_query_without_a_baseline() -> None:
    assert effective_query(metric('errors{app="{{ model }}"}'), CONTEXT) == 'errors{app="fraud"}'


def test_effective_query_with_a_baseline_is_the_ratio() -> None:
    found = effective_query(
        metric(
            'p99{app="{{ model }}",role="canary"}',
            'p99{app="{{ model }}",role="stable",ns="{{ namespace }}"}',
        ),
        CONTEXT,
    )
    assert (
        found == '(p99{app="fraud",role="canary"}) / (p99{app="fraud",role="stable",ns="ml-prod"})'
    )


def test_effective_query_parenthesises_each_side() -> None:
    # Without the parentheses `a + b / c + d` would divide b by c only.
    assert effective_query(metric("a + b", "c + d"), CONTEXT) == "(a + b) / (c + d)"


@pytest.mark.parametrize(
    ("query", "baseline", "field", "error"),
    [
        ("{{ bad }}", None, "analysis.metrics[error-rate].query", "'bad' is undefined"),
        ("{{ bad }}", "ok", "analysis.metrics[error-rate].query", "'bad' is undefined"),
        (
            "ok",
            "{{ worse }}",
            "analysis.metrics[error-rate].baseline_query",
            "'worse' is undefined",
        ),
        (
            "ok",
            "{{ model.__class__ }}",
            "analysis.metrics[error-rate].baseline_query",
            "access to attribute '__class__' of 'str' object is unsafe.",
        ),
    ],
)
def test_effective_query_names_the_failing_field(
    query: str, baseline: str | None, field: str, error: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        effective_query(metric(query, baseline), CONTEXT)
    [problem] = caught.value.problems
    assert (problem.source, problem.field, problem.message) == (
        "policy",
        field,
        f"query template error: {error} {HINT}",
    )
