"""bot.core.names: every name that becomes a Kubernetes name, a path part or a branch.

The patterns end in `\\Z`, not `$`: `$` also matches before a trailing newline, so
`"prod\\n"` would pass a `$`-anchored check and then break a YAML file or a git ref.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import InvalidInput
from bot.core.names import (
    BotBranch,
    check_dns_label,
    check_path_template,
    check_relative_path,
    check_version,
    fill_path,
    is_dns_label,
    parse_bot_branch,
    promote_branch,
    require_environment,
    require_model,
    require_version,
    rollback_branch,
)

DNS_HINT = (
    "use a DNS-1123 label (lowercase letters, digits and '-', "
    "starting and ending with a letter or digit, at most 63 characters)"
)
VERSION_HINT = (
    "use letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-', no '..')"
)


# --- check_dns_label ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "a",
        "0",
        "prod",
        "fraud-detector",
        "a-b-c",
        "a--b",
        "9lives",
        "x1",
        "a" * 63,
        "a" + "-" * 61 + "b",
    ],
)
def test_dns_label_accepts(value: str) -> None:
    assert check_dns_label(value, "model") == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-a",
        "a-",
        "-",
        "Prod",
        "PROD",
        "a_b",
        "a.b",
        "a b",
        "a/b",
        "ünï",
        "a" * 64,
        "prod\n",  # `$` would accept this; `\Z` does not
        "prod\r\n",
        "\nprod",
        "pr\nod",
        "prod\x00",
        "prod ",
        " prod",
    ],
)
def test_dns_label_refuses(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_dns_label(value, "model")
    assert str(caught.value) == f"bad model name {value!r}: {DNS_HINT}"


@pytest.mark.parametrize("value", [None, 1, b"prod", ["prod"]])
def test_dns_label_refuses_non_strings(value: object) -> None:
    with pytest.raises(ValueError, match=r"^bad environment name "):
        check_dns_label(value, "environment")  # type: ignore[arg-type]


@pytest.mark.parametrize("what", ["model", "environment", "namespace"])
def test_dns_label_message_names_what(what: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_dns_label("Bad", what)
    assert str(caught.value).startswith(f"bad {what} name 'Bad': ")


# --- check_version -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1",
        "7",
        "v1.2.3",
        "1.0.0-rc.1",
        "_private",
        "A_b-C.d",
        "2024-11-01",
        "1.",  # a trailing '.' is in Docker's tag grammar
        "a" * 128,
        "1" + "x" * 127,
    ],
)
def test_version_accepts(value: str) -> None:
    assert check_version(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        ".1",
        "-1",
        "1..2",
        "..",
        "a" * 129,
        "1/2",
        "1:2",
        "1+build",
        "1 2",
        "v1@sha",
        "1\n",  # `$` would accept this; `\Z` does not
        "1\r",
        "\n1",
        "1\x00",
        "1\t",
        "ü1",
    ],
)
def test_version_refuses(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_version(value)
    assert str(caught.value) == f"bad version {value!r}: {VERSION_HINT}"


def test_version_message_names_what() -> None:
    with pytest.raises(ValueError) as caught:
        check_version("a..b", "image tag")
    assert str(caught.value) == f"bad image tag 'a..b': {VERSION_HINT}"


@pytest.mark.parametrize("value", [None, 7, 1.5])
def test_version_refuses_non_strings(value: object) -> None:
    with pytest.raises(ValueError, match=r"^bad version "):
        check_version(value)  # type: ignore[arg-type]


# --- check_relative_path -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "values.yaml",
        "a/b/c.yaml",
        ".model-bot/templates",
        ".gitignore",
        ".github/workflows/x.yml",
        "x/.git",  # only a leading .git is the repository's own folder
        "a/..b/c",
        "a/b..",
        "...",
        "with space/file name",
        "ünïcode/päth",
    ],
)
def test_relative_path_accepts(value: str) -> None:
    assert check_relative_path(value) == value


SEPARATORS = "use a relative path with '/' separators"
PARTS = "no empty, '.' or '..' parts"
GIT = "must not point into .git"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", SEPARATORS),
        ("/etc/passwd", SEPARATORS),
        ("/", SEPARATORS),
        ("a\\b", SEPARATORS),
        ("..\\x", SEPARATORS),
        ("a\nb", SEPARATORS),
        ("values.yaml\n", SEPARATORS),
        ("a\rb", SEPARATORS),
        ("a\tb", SEPARATORS),
        ("a\x00b", SEPARATORS),
        ("a\x1fb", SEPARATORS),
        ("a\x7fb", SEPARATORS),
        ("a/", PARTS),
        ("a//b", PARTS),
        (".", PARTS),
        ("..", PARTS),
        ("./a", PARTS),
        ("a/./b", PARTS),
        ("../a", PARTS),
        ("a/../../b", PARTS),
        ("a/..", PARTS),
        (".git", GIT),
        (".git/config", GIT),
        (".git/hooks/pre-commit", GIT),
    ],
)
def test_relative_path_refuses(value: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_relative_path(value)
    assert str(caught.value) == f"bad path {value!r}: {reason}"


# --- check_path_template / fill_path -----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "environments/{environment}/{model}",
        "reports/{model}/{version}.md",
        "{environment}",
        "{model}-{version}/values.yaml",
        "{version}{version}",
        "static/path.yaml",
        "a/{model}.{environment}.yaml",
    ],
)
def test_path_template_accepts(value: str) -> None:
    assert check_path_template(value) == value


STRAY = "only {environment}, {model} and {version} may be filled in"


@pytest.mark.parametrize(
    "value",
    [
        "a/{name}",
        "a/{Model}",
        "a/{ model }",
        "a/{model",
        "a/model}",
        "a/{{model}}",
        "{}",
        "{0}",
        "a/{environment}{",
        "{tag}",
    ],
)
def test_path_template_refuses_stray_braces(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_path_template(value)
    assert str(caught.value) == f"bad path template {value!r}: {STRAY}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # The path is checked with 'x' in the placeholders; the message quotes the template.
        ("/abs/{model}", SEPARATORS),
        ("{model}/../{version}", PARTS),
        ("{environment}//{model}", PARTS),
        (".git/{model}", GIT),
        ("{model}\n", SEPARATORS),
        ("", SEPARATORS),
    ],
)
def test_path_template_refuses_bad_paths(value: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_path_template(value)
    assert str(caught.value) == f"bad path {value!r}: {reason}"


def test_path_template_message_quotes_the_template_as_written() -> None:
    with pytest.raises(ValueError) as caught:
        check_path_template("/abs/{model}")
    assert "'/abs/{model}'" in str(caught.value)


DOT_HINT = (
    "starts with '.' and holds a placeholder, so a name such as 'git' would make it '.git' "
    "(drop the leading '.')"
)


@pytest.mark.parametrize(
    ("value", "part"),
    [
        (".{model}/values.yaml", ".{model}"),
        (".g{model}", ".g{model}"),
        (".{environment}{version}/x", ".{environment}{version}"),
        ("envs/.{model}", ".{model}"),
    ],
)
def test_path_template_refuses_a_dot_part_with_a_placeholder(value: str, part: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_path_template(value)
    assert str(caught.value) == f"bad path template {value!r}: the part {part!r} {DOT_HINT}"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("environments/{environment}/{model}", "environments/prod/fraud"),
        ("reports/{model}/{version}.md", "reports/fraud/1.2.3.md"),
        ("{model}-{model}/{version}", "fraud-fraud/1.2.3"),
        ("static/values.yaml", "static/values.yaml"),
        # `{{` is not an escape: the inner `{model}` is filled, the outer braces stay.
        ("{{model}}", "{fraud}"),
    ],
)
def test_fill_path(template: str, expected: str) -> None:
    assert fill_path(template, environment="prod", model="fraud", version="1.2.3") == expected


def test_fill_path_fills_only_what_the_template_names() -> None:
    assert fill_path("environments/{environment}", environment="prod") == "environments/prod"


def test_fill_path_without_a_named_value_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="version"):
        fill_path("reports/{version}.md", environment="prod", model="fraud")


# Names that could complete a template part into '.', '..' or '.git'.
_NAMES = st.sampled_from(["git", "it", "t", "x", "0", "a-b"])
_TEMPLATE_PIECES = st.sampled_from(
    ["{environment}", "{model}", "{version}", ".", "..", ".g", "gi", "git", "a", "-", "/"]
)


@settings(max_examples=500, deadline=None)
@given(
    template=st.lists(_TEMPLATE_PIECES, min_size=1, max_size=6).map("".join),
    environment=_NAMES,
    model=_NAMES,
    version=st.sampled_from(["1", "1.2.3", "git", "it", "v1_0"]),
)
def test_filled_template_with_valid_names_is_a_valid_relative_path(
    template: str, environment: str, model: str, version: str
) -> None:
    try:
        check_path_template(template)
    except ValueError:
        return  # refused when the config is read: never filled
    names = {
        "environment": check_dns_label(environment, "environment"),
        "model": check_dns_label(model, "model"),
        "version": check_version(version),
    }
    check_relative_path(fill_path(template, **names))


def test_template_that_a_model_named_git_points_into_git_is_refused() -> None:
    model = check_dns_label("git", "model")
    with pytest.raises(ValueError, match=r"would make it '\.git'"):
        check_path_template(".{model}/values.yaml")
    # Unchecked, the template fills to a path into .git: fill_path checks its result too.
    with pytest.raises(ValueError) as caught:
        fill_path(".{model}/values.yaml", environment="prod", model=model, version="1")
    assert str(caught.value) == f"bad path '.git/values.yaml': {GIT}"


def test_fill_path_checks_its_result() -> None:
    with pytest.raises(ValueError) as caught:
        fill_path("a/{version}/b", version="")
    assert str(caught.value) == f"bad path 'a//b': {PARTS}"


# --- require_* --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("require", "value"),
    [
        (require_model, "fraud-detector"),
        (require_environment, "prod"),
        (require_version, "1.2.3"),
    ],
)
def test_require_returns_a_good_value(require: object, value: str) -> None:
    assert require(value) == value  # type: ignore[operator]


@pytest.mark.parametrize(
    ("require", "value", "field", "message"),
    [
        (require_model, "Fraud", "--model", f"bad model name 'Fraud': {DNS_HINT}"),
        (require_model, "fraud\n", "--model", f"bad model name 'fraud\\n': {DNS_HINT}"),
        (
            require_environment,
            "pro_d",
            "--environment",
            f"bad environment name 'pro_d': {DNS_HINT}",
        ),
        (require_version, "1..2", "--version", f"bad version '1..2': {VERSION_HINT}"),
        (require_version, "1\n", "--version", f"bad version '1\\n': {VERSION_HINT}"),
    ],
)
def test_require_refuses_naming_the_flag(
    require: object, value: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        require(value)  # type: ignore[operator]
    [problem] = caught.value.problems
    assert (problem.source, problem.field, problem.message) == (field, "", message)
    assert str(caught.value) == f"{field}: {message}"


@pytest.mark.parametrize(
    ("require", "value", "field"),
    [
        (require_model, "Bad", "model (from the comment)"),
        (require_environment, "Bad", "environment"),
        (require_version, "..", "model.version"),
    ],
)
def test_require_uses_the_given_field(require: object, value: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        require(value, field)  # type: ignore[operator]
    assert caught.value.problems[0].source == field
    assert str(caught.value).startswith(f"{field}: bad ")


# --- branch names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (promote_branch, "model-bot/promote/prod/fraud"),
        (rollback_branch, "model-bot/rollback/prod/fraud"),
    ],
)
def test_branch_names(make: object, expected: str) -> None:
    assert make("prod", "fraud") == expected  # type: ignore[operator]


def test_promote_and_rollback_branches_differ_per_environment_and_model() -> None:
    branches = {
        make(env, model)
        for make in (promote_branch, rollback_branch)
        for env in ("prod", "staging")
        for model in ("a", "b")
    }
    assert len(branches) == 8


@pytest.mark.parametrize(
    ("make", "kind"), [(promote_branch, "promote"), (rollback_branch, "rollback")]
)
@pytest.mark.parametrize(("environment", "model"), [("prod", "fraud"), ("a", "b-2"), ("0", "9")])
def test_parse_bot_branch_reads_what_the_bot_names(
    make: object, kind: str, environment: str, model: str
) -> None:
    branch = make(environment, model)  # type: ignore[operator]
    assert parse_bot_branch(branch) == BotBranch(kind, environment, model)


@pytest.mark.parametrize(
    "branch",
    [
        "",
        "main",
        "model-bot",
        "model-bot/promote/prod",
        "model-bot/promote/prod/fraud/extra",
        "model-bot/promote/prod/",
        "model-bot/promote//fraud",
        "model-bot/deploy/prod/fraud",
        "model-bot/Promote/prod/fraud",
        "Model-Bot/promote/prod/fraud",
        "other/promote/prod/fraud",
        "refs/heads/model-bot/promote/prod/fraud",
        "model-bot/promote/Prod/fraud",
        "model-bot/promote/prod/fraud_x",
        "model-bot/promote/prod/fraud\n",
        "model-bot/rollback/prod\n/fraud",
        "model-bot/promote/prod/" + "a" * 64,
    ],
)
def test_parse_bot_branch_refuses_other_branches(branch: str) -> None:
    assert parse_bot_branch(branch) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("prod", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("Prod", False),
        ("prod\n", False),
        ("", False),
        (None, False),
        (7, False),
    ],
)
def test_is_dns_label(value: object, expected: bool) -> None:
    assert is_dns_label(value) is expected  # type: ignore[arg-type]
