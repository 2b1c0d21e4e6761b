"""bot.cli.outputs: step outputs and the job summary, in the file formats GitHub documents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import outputs
from bot.cli.outputs import append_summary, delimiter, format_outputs, write_github_outputs
from bot.core.errors import EXIT_USAGE, ExternalError, InvalidInput

DELIMITER = re.compile(r"ghadelimiter_[0-9a-f]{32}")


def parse_github_output(text: str) -> dict[str, str]:
    """How the Actions runner reads `$GITHUB_OUTPUT` (its SetOutputFileCommand):
    `name=value` lines, or `name<<DELIMITER`, the value's lines, then a line `DELIMITER`."""
    result: dict[str, str] = {}
    lines: Iterator[str] = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, mark = line.split("<<", 1)
            body = []
            for value_line in lines:
                if value_line == mark:
                    break
                body.append(value_line)
            else:
                raise AssertionError(f"no closing delimiter for {name}")
            result[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            result[name] = value
    return result


# --- delimiter ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", "x", "EOF", "ghadelimiter_", "a\nghadelimiter_0123\nb", "ghadelimiter_" + "0" * 32],
)
def test_delimiter_shape_and_absence(value: str) -> None:
    mark = delimiter(value)
    assert DELIMITER.fullmatch(mark)
    assert mark not in value


def test_delimiters_are_random() -> None:
    assert len({delimiter("v") for _ in range(20)}) == 20


def test_delimiter_is_drawn_again_when_it_occurs_in_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = iter(["a" * 32, "b" * 32, "c" * 32])
    monkeypatch.setattr(outputs.secrets, "token_hex", lambda n: next(draws))
    value = f"x ghadelimiter_{'a' * 32} y\nghadelimiter_{'b' * 32}"
    assert delimiter(value) == f"ghadelimiter_{'c' * 32}"


# --- format_outputs -------------------------------------------------------------------------


def test_format_outputs_is_githubs_multiline_form() -> None:
    text = format_outputs({"decision": "promote", "report": "line 1\nline 2"})
    match = re.fullmatch(
        r"decision<<(?P<a>ghadelimiter_[0-9a-f]{32})\npromote\n(?P=a)\n"
        r"report<<(?P<b>ghadelimiter_[0-9a-f]{32})\nline 1\nline 2\n(?P=b)\n",
        text,
    )
    assert match
    assert match["a"] != match["b"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain",
        "two\nlines",
        "trailing newline\n",
        "\n\nleading blank lines",
        "other=injected",
        "other<<EOF\ninjected\nEOF",
        "x\nghadelimiter_00000000000000000000000000000000\ny",
        "unicode ✓ ü",
        "carriage\rreturn",
    ],
)
def test_no_value_can_inject_another_output(value: str) -> None:
    text = format_outputs({"first": value, "second": "kept"})
    assert parse_github_output(text) == {"first": value, "second": "kept"}


def test_format_outputs_of_nothing_is_empty() -> None:
    assert format_outputs({}) == ""


def test_format_outputs_writes_non_strings_as_text() -> None:
    text = format_outputs({"count": 3, "ok": True})  # type: ignore[dict-item]
    assert parse_github_output(text) == {"count": "3", "ok": "True"}


@pytest.mark.parametrize("name", ["a", "_x", "A-b_1", "decision", "pr-url", "x" * 200])
def test_good_output_names(name: str) -> None:
    assert parse_github_output(format_outputs({name: "v"})) == {name: "v"}


@pytest.mark.parametrize(
    "name", ["", "1a", "-a", "a b", "a=b", "a<<b", "a\n", "a\nb", "ü", "a.b", "a/b"]
)
def test_bad_output_name(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        format_outputs({"ok": "v", name: "v"})
    [problem] = caught.value.problems
    assert (problem.source, problem.field, problem.message) == (
        "GITHUB_OUTPUT",
        name,
        "bad output name (letters, digits, '_' and '-')",
    )


# --- write_github_outputs -------------------------------------------------------------------


def test_write_github_outputs_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "output"
    write_github_outputs(path, {"decision": "promote"})
    assert parse_github_output(path.read_text(encoding="utf-8")) == {"decision": "promote"}


def test_write_github_outputs_appends(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=1\n", encoding="utf-8")
    write_github_outputs(path, {"a": "x\ny"})
    write_github_outputs(str(path), {"b": "z"})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("earlier=1\na<<ghadelimiter_")
    assert parse_github_output(text) == {"earlier": "1", "a": "x\ny", "b": "z"}


def test_write_github_outputs_writes_nothing_for_a_bad_name(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=1\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        write_github_outputs(path, {"good": "v", "bad name": "v"})
    assert path.read_text(encoding="utf-8") == "earlier=1\n"


def test_write_github_outputs_survives_lone_surrogates(tmp_path: Path) -> None:
    path = tmp_path / "output"
    write_github_outputs(path, {"a": "x\ud800y"})
    assert parse_github_output(path.read_text(encoding="utf-8")) == {"a": "x\\ud800y"}


# --- append_summary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "written"),
    [
        ("# Gate", "# Gate\n\n"),
        ("# Gate\n", "# Gate\n\n"),
        ("a\n\n", "a\n\n\n"),
        ("", "\n\n"),
    ],
)
def test_append_summary_ends_with_a_blank_line(tmp_path: Path, markdown: str, written: str) -> None:
    path = tmp_path / "summary.md"
    append_summary(path, markdown)
    assert path.read_text(encoding="utf-8") == written


def test_append_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier\n", encoding="utf-8")
    append_summary(path, "| a | b |")
    append_summary(str(path), "second")
    assert path.read_text(encoding="utf-8") == "earlier\n| a | b |\n\nsecond\n\n"


# --- unwritable paths -----------------------------------------------------------------------


def _directory(tmp_path: Path) -> tuple[Path, str]:
    return tmp_path, "Is a directory"


def _missing_parent(tmp_path: Path) -> tuple[Path, str]:
    return tmp_path / "missing" / "out", "No such file or directory"


def _parent_is_a_file(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "file").write_text("", encoding="utf-8")
    return tmp_path / "file" / "out", "Not a directory"


UNWRITABLE = pytest.mark.parametrize(
    "make", [_directory, _missing_parent, _parent_is_a_file], ids=["dir", "missing", "file"]
)


@UNWRITABLE
def test_write_github_outputs_to_an_unwritable_path(tmp_path: Path, make: object) -> None:
    path, reason = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ExternalError) as caught:
        write_github_outputs(path, {"a": "b"})
    assert str(caught.value) == f"cannot write GitHub output file {path}: {reason}"
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.__suppress_context__


@UNWRITABLE
def test_append_summary_to_an_unwritable_path(tmp_path: Path, make: object) -> None:
    path, reason = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ExternalError) as caught:
        append_summary(path, "# x")
    assert str(caught.value) == f"cannot write summary file {path}: {reason}"
    assert caught.value.__suppress_context__
