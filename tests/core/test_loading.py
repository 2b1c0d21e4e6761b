"""bot.core.loading: YAML/JSON input into validated models, with every problem named."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bot.core.errors import InvalidInput
from bot.core.loading import (
    MAX_DIGITS,
    MAX_DOCUMENT_BYTES,
    MAX_GATE_RESULTS_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    field_path,
    load_file,
    parse_json,
    parse_yaml,
    read_text,
    validate_data,
)


def _no_bad(value: str) -> str:
    if value == "bad":
        raise ValueError("'bad' is not allowed here (pick another word)")
    return value


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int


class Sample(BaseModel):
    """One field per message branch of `_describe`."""

    model_config = ConfigDict(extra="forbid")

    req: int
    f: float = 0
    i: int = 0
    s: str = ""
    b: bool = False
    items: list[int] = []
    tup: tuple[int, ...] = ()
    st: set[int] = set()
    fs: frozenset[int] = frozenset()
    d: dict[str, int] = {}
    inner: Inner | None = None
    lit: Literal["a", "b"] = "a"
    gt: int = Field(default=1, gt=0)
    ge: int = Field(default=1, ge=0)
    lt: float = Field(default=0, lt=1)
    le: float = Field(default=0, le=1)
    checked: Annotated[str, AfterValidator(_no_bad)] = ""
    either: Annotated[str, AfterValidator(_no_bad)] | int = 0
    short: Annotated[str, StringConstraints(min_length=2)] = "aa"


# --- field_path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        ((), ""),
        (("gates",), "gates"),
        (("gates", 1, "metric"), "gates[1].metric"),
        (("a", "b", "c"), "a.b.c"),
        (("a", 0, 1), "a[0][1]"),
        ((0,), "[0]"),
        ((0, "name"), "[0].name"),
        (("environments", "prod", "namespace"), "environments.prod.namespace"),
        (("scores", "accuracy", 3), "scores.accuracy[3]"),
    ],
)
def test_field_path(loc: tuple[int | str, ...], expected: str) -> None:
    assert field_path(loc) == expected


# --- validate_data / problems_from ---------------------------------------------------------


def problems(data: object, source: str = "input.yaml") -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidInput) as caught:
        validate_data(data, Sample, source)
    return [(p.source, p.field, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "req", "required field is missing (add it)"),
        ({"req": 1, "zz": 1}, "zz", "unknown field (remove it or fix its spelling)"),
        ({"req": 1, "f": "x"}, "f", 'expected a number, got "x"'),
        ({"req": 1, "f": None}, "f", "expected a number, got null"),
        ({"req": 1, "i": "x"}, "i", 'expected an integer, got "x"'),
        ({"req": 1, "s": 1}, "s", "expected a string, got 1"),
        ({"req": 1, "b": "maybe"}, "b", 'expected true or false, got "maybe"'),
        ({"req": 1, "items": 1}, "items", "expected a list, got 1"),
        ({"req": 1, "tup": 1}, "tup", "expected a list, got 1"),
        ({"req": 1, "st": 1}, "st", "expected a list, got 1"),
        ({"req": 1, "fs": 1}, "fs", "expected a list, got 1"),
        ({"req": 1, "d": [1]}, "d", "expected a mapping, got [1]"),
        ({"req": 1, "inner": 1}, "inner", "expected a mapping, got 1"),
        ({"req": 1, "inner": {}}, "inner.x", "required field is missing (add it)"),
        (
            {"req": 1, "inner": {"x": 1, "y": 2}},
            "inner.y",
            "unknown field (remove it or fix its spelling)",
        ),
        ({"req": 1, "items": [1, "a"]}, "items[1]", 'expected an integer, got "a"'),
        ({"req": 1, "lit": "c"}, "lit", "got \"c\", use one of 'a' or 'b'"),
        ({"req": 1, "gt": 0}, "gt", "must be > 0, got 0"),
        ({"req": 1, "ge": -1}, "ge", "must be >= 0, got -1"),
        ({"req": 1, "lt": 1}, "lt", "must be < 1.0, got 1"),
        ({"req": 1, "le": 2}, "le", "must be <= 1.0, got 2"),
        ({"req": 1, "checked": "bad"}, "checked", "'bad' is not allowed here (pick another word)"),
        # Any other pydantic message, first letter lowered.
        ({"req": 1, "short": "a"}, "short", "string should have at least 2 characters"),
        (
            {"req": 1.5},
            "req",
            "input should be a valid integer, got a number with a fractional part",
        ),
        ([1], "(top level)", "expected a mapping, got [1]"),
        ("text", "(top level)", 'expected a mapping, got "text"'),
        (None, "(top level)", "expected a mapping, got null"),
    ],
)
def test_one_problem(data: object, field: str, message: str) -> None:
    assert problems(data) == [("input.yaml", field, message)]


def test_union_member_validator_names_the_field_not_the_validator() -> None:
    # pydantic's loc holds `function-after[...]` for the validated union member; the field
    # path leaves it out, and the other member's loc stays.
    assert problems({"req": 1, "either": "bad"}) == [
        ("input.yaml", "either", "'bad' is not allowed here (pick another word)"),
        ("input.yaml", "either.int", 'expected an integer, got "bad"'),
    ]


def test_every_problem_at_once_in_field_order() -> None:
    found = problems({"f": "x", "lit": "z", "extra": 1}, "policy.yaml")
    assert found == [
        ("policy.yaml", "req", "required field is missing (add it)"),
        ("policy.yaml", "f", 'expected a number, got "x"'),
        ("policy.yaml", "lit", "got \"z\", use one of 'a' or 'b'"),
        ("policy.yaml", "extra", "unknown field (remove it or fix its spelling)"),
    ]


def test_error_message_joins_problems_on_one_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_data({"i": "x"}, Sample, "p.yaml")
    assert str(caught.value) == (
        'p.yaml: req: required field is missing (add it); p.yaml: i: expected an integer, got "x"'
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x" * 38, '"' + "x" * 38 + '"'),  # 40 characters: shown whole
        ("x" * 39, '"' + "x" * 36 + "..."),  # 41: cut to 37 and '...'
        ("ü" * 38, '"' + "ü" * 38 + '"'),  # not escaped to \\u00fc
        ({"k": [1, 2]}, '{"k": [1, 2]}'),
    ],
)
def test_long_values_are_shortened(value: object, shown: str) -> None:
    assert problems({"req": 1, "i": value}) == [
        ("input.yaml", "i", f"expected an integer, got {shown}")
    ]


def test_validate_data_returns_the_model() -> None:
    model = validate_data({"req": 3, "lit": "b", "items": [1, 2]}, Sample, "x")
    assert (model.req, model.lit, model.items) == (3, "b", [1, 2])


# --- parse_yaml ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("# only a comment\n", None),
        ("a: 1\n", {"a": 1}),
        ("- a\n- 2\n", ["a", 2]),
        ("on: yes\noff: no\n", {"on": "yes", "off": "no"}),  # YAML 1.2: strings
        ("v: 1.10\n", {"v": 1.1}),
        ("v: '1.10'\n", {"v": "1.10"}),
        ("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n", {"base": {"x": 1}, "c": {"x": 1, "y": 2}}),
        ('{"json": [1, true, null]}', {"json": [1, True, None]}),
    ],
)
def test_parse_yaml(text: str, expected: object) -> None:
    assert parse_yaml(text, "s.yaml") == expected


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("a: 1\na: 2\n", "line 2", 'found duplicate key "a" with value "2" (original value: "1")'),
        (
            "a: {b: 1, b: 2}\n",
            "line 1",
            'found duplicate key "b" with value "2" (original value: "1")',
        ),
        (
            "!!python/object:os.system {}\n",
            "line 1",
            "could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object:os.system'",
        ),
        ("x: !custom 1\n", "line 1", "could not determine a constructor for the tag '!custom'"),
        ("a: [1\n", "line 2", "expected ',' or ']', but got '<stream end>'"),
        ("a: *nowhere\n", "line 1", "found undefined alias 'nowhere'"),
        ("a: b\n---\nc: d\n", "line 2", "but found another document"),
        ("a: 1\n\tb: 2\n", "line 2", "found character '\\t' that cannot start any token"),
    ],
)
def test_parse_yaml_refuses(text: str, where: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_yaml(text, "s.yaml")
    [found] = caught.value.problems
    assert (found.source, found.field, found.message) == (
        "s.yaml",
        where,
        f"invalid YAML: {problem} (fix the syntax)",
    )


# --- parse_json ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2.5, "x", true, null]}', {"a": [1, 2.5, "x", True, None]}),
        ("7", 7),
        ('"s"', "s"),
        ("null", None),
        ("  [ ]\n", []),
    ],
)
def test_parse_json(text: str, expected: object) -> None:
    assert parse_json(text, "e.json") == expected


def test_parse_json_reads_non_finite_numbers() -> None:
    # README: "Metric values may be null, NaN or Infinity: such a metric fails its gate with
    # that reason". So these parse (to floats the gate then fails), unlike lowercase `nan`.
    value = parse_json('[NaN, Infinity, -Infinity, {"m": NaN}]', "e.json")
    assert isinstance(value, list)
    assert math.isnan(value[0])
    assert value[1:3] == [math.inf, -math.inf]
    assert math.isnan(value[3]["m"])


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("", "line 1", "Expecting value"),
        ("nan", "line 1", "Expecting value"),
        ("inf", "line 1", "Expecting value"),
        ("+Infinity", "line 1", "Expecting value"),
        ("{'a': 1}", "line 1", "Expecting property name enclosed in double quotes"),
        ('{"a": 1}\n{', "line 2", "Extra data"),
        ("a: 1", "line 1", "Expecting value"),
        ('{\n"a":\n}', "line 3", "Expecting value"),
        ('"tab\there"', "line 1", "Invalid control character at"),
    ],
)
def test_parse_json_refuses(text: str, line: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_json(text, "e.json")
    [found] = caught.value.problems
    assert (found.source, found.field, found.message) == (
        "e.json",
        line,
        f"invalid JSON: {problem} (fix the syntax)",
    )


@pytest.mark.parametrize("text", ['{"a": 1,}', "[1, 2,]"])
def test_parse_json_refuses_trailing_commas(text: str) -> None:
    # json's own wording changed in Python 3.13 ("Illegal trailing comma ..."): check the shape.
    with pytest.raises(InvalidInput) as caught:
        parse_json(text, "e.json")
    [found] = caught.value.problems
    assert (found.source, found.field) == ("e.json", "line 1")
    assert re.fullmatch(r"invalid JSON: [A-Z][^()]+ \(fix the syntax\)", found.message)


def test_parse_json_refuses_deep_nesting_cleanly() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_json("[" * 100_000, "e.json")
    assert str(caught.value) == "e.json: invalid JSON: nested too deeply"


def test_parse_json_refuses_duplicate_keys() -> None:
    with pytest.raises(InvalidInput):
        parse_json('{"metrics": {"accuracy": 0.5, "accuracy": 0.99}}', "e.json")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"a": 1, "a": 1}', "a"),
        ('[{"x": {"b": 1, "c": 2, "b": 3}}]', "b"),
        ('{"\\u00e9": 1, "\u00e9": 2}', "\u00e9"),  # the same key, escaped or not
    ],
)
def test_parse_json_duplicate_key_names_the_key(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_json(text, "e.json")
    assert str(caught.value) == f"e.json: invalid JSON: duplicate key {key!r} (keep only one)"


def test_parse_json_keeps_equal_keys_in_different_objects() -> None:
    assert parse_json('{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}', "e.json") == {
        "a": {"a": 1},
        "b": [{"a": 2}, {"a": 3}],
    }


# --- read_text ----------------------------------------------------------------------------


def test_read_text(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a: ü\n", encoding="utf-8")
    assert read_text(path, "policy") == "a: ü\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.yaml", "policy file not found (check the path)"),
        (lambda d: d, "is a directory, expected a policy file"),
        (lambda d: _write(d / "latin1.yaml", b"a: \xe9\n"), "policy file is not UTF-8 text"),
        (
            lambda d: _write(d / "file", b"x") / "child.yaml",
            "cannot read policy file: Not a directory",
        ),
    ],
    ids=["missing", "directory", "not-utf8", "parent-is-a-file"],
)
def test_read_text_refuses(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InvalidInput) as caught:
        read_text(path, "policy")
    [found] = caught.value.problems
    assert (found.source, found.field, found.message) == (str(path), "", message)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- load_file ----------------------------------------------------------------------------


class Small(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int = 1


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("s.yaml", "name: x\ncount: 2\n"),
        ("s.yml", "name: x\ncount: 2\n"),
        ("s.json", '{"name": "x", "count": 2}'),
        ("s.txt", '{"name": "x", "count": 2}'),  # not .json: YAML, a superset
        ("noext", "{name: x, count: 2}"),
    ],
)
def test_load_file(tmp_path: Path, filename: str, text: str) -> None:
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    assert load_file(path, Small, "thing") == Small(name="x", count=2)


@pytest.mark.parametrize(
    ("filename", "text", "field", "message"),
    [
        # Only a .json suffix picks the JSON parser: YAML flow syntax is then an error.
        (
            "s.json",
            "{name: x}",
            "line 1",
            "invalid JSON: Expecting property name enclosed in double quotes (fix the syntax)",
        ),
        (
            "s.yaml",
            "name: x\nname: y\n",
            "line 2",
            'invalid YAML: found duplicate key "name" with value "y" (original value: "x") (fix the syntax)',
        ),
        ("s.yaml", "", "", "thing file is empty"),
        ("s.yaml", "# nothing\n", "", "thing file is empty"),
        ("s.json", "null", "", "thing file is empty"),
        ("s.yaml", "count: 2\n", "name", "required field is missing (add it)"),
        (
            "s.json",
            '{"name": "x", "cuont": 2}',
            "cuont",
            "unknown field (remove it or fix its spelling)",
        ),
        ("s.yaml", "- name: x\n", "(top level)", 'expected a mapping, got [{"name": "x"}]'),
    ],
)
def test_load_file_refuses(
    tmp_path: Path, filename: str, text: str, field: str, message: str
) -> None:
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_file(path, Small, "thing")
    [found] = caught.value.problems
    assert (found.source, found.field, found.message) == (str(path), field, message)


def test_load_file_missing_names_what(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InvalidInput) as caught:
        load_file(path, Small, "gate results")
    assert str(caught.value) == f"{path}: gate results file not found (check the path)"


# --- input limits -------------------------------------------------------------------------


def test_the_limits() -> None:
    assert MAX_DOCUMENT_BYTES == 1024 * 1024  # policies and configs
    assert MAX_GATE_RESULTS_BYTES == 64 * 1024 * 1024  # 1,000,000 paired scores: ~46 MiB
    assert (MAX_DIGITS, MAX_YAML_NODES, MAX_YAML_DEPTH) == (100, 20_000, 100)


def test_read_text_refuses_a_file_over_the_limit_before_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:  # sparse: 8 GB on disk would take no time to stat
        handle.truncate(8 * 1024**3)
    with pytest.raises(InvalidInput) as caught:
        read_text(path, "policy")
    assert str(caught.value) == (
        f"{path}: policy file is 8,589,934,592 bytes, over the 1 MiB limit for a policy file "
        "(check that it is the right file)"
    )


def test_read_text_limit_is_inclusive(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.yaml", b"a: 1\n")
    assert read_text(path, "policy", max_bytes=5) == "a: 1\n"
    with pytest.raises(InvalidInput, match="is 5 bytes, over the 4 bytes limit for a policy"):
        read_text(path, "policy", max_bytes=4)


def test_read_text_names_the_fix_it_is_given(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.json", b"{}" * 10)
    with pytest.raises(InvalidInput) as caught:
        read_text(path, "gate results", max_bytes=8, fix="score a sample")
    assert str(caught.value).endswith(
        "over the 8 bytes limit for a gate results file (score a sample)"
    )


def test_read_text_reads_a_stream_only_up_to_the_limit() -> None:
    # a device or pipe has no size to check first: it is read up to the limit, not forever
    with pytest.raises(InvalidInput) as caught:
        read_text(Path("/dev/zero"), "policy")
    assert str(caught.value) == (
        "/dev/zero: policy file is more than 1 MiB, over the 1 MiB limit for a policy file "
        "(check that it is the right file)"
    )


def test_read_text_keeps_universal_newlines(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.yaml", b"a: 1\r\nb: 2\rc: 3\n")
    assert read_text(path, "policy") == "a: 1\nb: 2\nc: 3\n"


def test_parse_yaml_refuses_text_over_the_limit() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_yaml("a: " + "ü" * (MAX_DOCUMENT_BYTES // 2), ".model-bot.yaml")
    assert str(caught.value) == (
        ".model-bot.yaml: is 1,048,579 bytes, over the 1 MiB limit for YAML input "
        "(check that it is the right file)"
    )


def test_parse_json_refuses_text_over_the_limit() -> None:
    with pytest.raises(InvalidInput, match="is 12 bytes, over the 10 bytes limit for JSON input"):
        parse_json('{"a": [1,2]}', "scores.json", max_bytes=10)


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            '{"metrics": {"accuracy": ' + "1" * 5000 + "}}",
            "metrics.accuracy",
            "number with 5000 digits is too long (at most 100 digits; write e.g. 1.5e30)",
        ),
        (
            '{"scores": {"a": [0, -' + "9" * 101 + "]}}",
            "scores.a[1]",
            "number with 101 digits is too long (at most 100 digits; write e.g. 1.5e30)",
        ),
        (
            '{"metrics": {"accuracy": 1e400}}',
            "metrics.accuracy",
            "number 1e400 is too large for a float (at most about 1.8e308)",
        ),
        (
            '[{"x": -2.5E+999}]',
            "[0].x",
            "number -2.5E+999 is too large for a float (at most about 1.8e308)",
        ),
        ("1" * 200, "(top level)", "number with 200 digits is too long"),
    ],
)
def test_parse_json_refuses_numbers_a_float_cannot_hold(
    text: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_json(text, "r.json")
    [found] = caught.value.problems
    assert (found.source, found.field) == ("r.json", field)
    assert found.message.startswith(message)


def test_parse_json_names_every_unrepresentable_number() -> None:
    big = "7" * 300
    with pytest.raises(InvalidInput) as caught:
        parse_json(f'{{"a": {big}, "b": [1, 1e999, {big}], "c": "{big}"}}', "r.json")
    assert [p.field for p in caught.value.problems] == ["a", "b[1]", "b[2]"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1" * 100, int("1" * 100)),  # 100 digits: fine
        ("-" + "1" * 100, -int("1" * 100)),
        ("1e308", 1e308),
        ("1e-400", 0.0),  # underflow is harmless
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ('"' + "9" * 500 + '"', "9" * 500),  # a string of digits is a string
        ("0." + "0" * 500 + "1", 0.0),  # long fractions are not integers
    ],
)
def test_parse_json_keeps_numbers_a_float_can_hold(text: str, expected: object) -> None:
    assert parse_json(text, "r.json") == expected


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("a: " + "1" * 5000 + "\n", "a", "number with 5000 digits is too long"),
        ("a: [1, -" + "1_0" * 60 + "]\n", "a[1]", "number with 120 digits is too long"),
        ("a: {b: 1e400}\n", "a.b", "number 1e400 is too large for a float"),
    ],
)
def test_parse_yaml_refuses_numbers_a_float_cannot_hold(
    text: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_yaml(text, "p.yaml")
    [found] = caught.value.problems
    assert (found.source, found.field) == ("p.yaml", field)
    assert found.message.startswith(message)


def test_parse_yaml_keeps_infinity_and_long_strings() -> None:
    assert parse_yaml("a: .inf\nb: -.inf\nc: '" + "1" * 500 + "'\n", "p.yaml") == {
        "a": math.inf,
        "b": -math.inf,
        "c": "1" * 500,
    }


def billion_laughs(levels: int = 9) -> str:
    text = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels + 1):
        text += f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]\n"
    return text


def test_parse_yaml_bounds_alias_expansion() -> None:
    # 9**9 (387 million) "lol"s from 650 bytes: refused while composing the definitions
    # (l4 stands for 66,430 values), before anything is expanded
    import time

    started = time.monotonic()
    with pytest.raises(InvalidInput) as caught:
        parse_yaml(billion_laughs() + "x: *l9\n", "p.yaml")
    assert time.monotonic() - started < 5
    [found] = caught.value.problems
    assert (found.source, found.field) == ("p.yaml", "line 5")
    assert found.message == (
        "too large: more than 20000 YAML values, each alias counting as the values it repeats "
        "(a policy or config needs a few hundred)"
    )


def test_parse_yaml_counts_values_not_only_aliases() -> None:
    text = "a: [" + ", ".join(["1"] * MAX_YAML_NODES) + "]\n"
    with pytest.raises(InvalidInput, match="too large: more than 20000 YAML values"):
        parse_yaml(text, "p.yaml")


def test_parse_yaml_keeps_ordinary_aliases() -> None:
    text = billion_laughs(levels=2) + "gates: &g [{metric: a > 1}]\nenv: {s: {gates: *g}}\n"
    data = parse_yaml(text, "p.yaml")
    assert isinstance(data, dict) and data["env"]["s"]["gates"] == [{"metric": "a > 1"}]


def test_parse_yaml_refuses_a_recursive_alias() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_yaml("a: &a [1, *a]\n", "p.yaml")
    assert str(caught.value) == (
        "p.yaml: line 1: alias 'a' refers to a value that contains it: "
        "a recursive structure (repeat the values instead)"
    )


def test_parse_yaml_refuses_deep_nesting_cleanly() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_yaml("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "p.yaml")
    assert str(caught.value) == (
        "p.yaml: line 1: nested more than 100 levels deep (a policy or config needs fewer than 10)"
    )


def test_validation_messages_do_not_expand_shared_values() -> None:
    # a value shared 2**40 times over (as aliases build it) is shown cut, never expanded whole
    shared: object = "lol"
    for _ in range(40):
        shared = [shared, shared]
    assert problems({"req": 1, "i": shared}) == [
        ("input.yaml", "i", "expected an integer, got " + "[" * 37 + "...")
    ]
