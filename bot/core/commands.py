"""ChatOps commands in a comment body, found the way a reader of the rendered markdown sees
them: at the start of a line, outside quotes, code and HTML comments. Pure; never raises."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Literal

from bot.core.untrusted import one_line, truncate

COMMANDS = ("rollback", "help")
ARGUMENT_LIMIT = 1000  # characters of a command's argument text kept at all

CommandName = Literal["rollback", "help"]


@dataclass(frozen=True)
class Command:
    """One command line: its name, the rest of the line (one line of printable text, capped)
    and its 1-based line number in the comment."""

    name: CommandName
    argument: str = ""
    line: int = 1

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.argument.split())


_COMMAND = re.compile(r"/(rollback|help)(?=\s|$)(.*)", re.DOTALL)
_FENCE = re.compile(r"(`{3,}|~{3,})(.*)")
_LIST_MARKER = re.compile(r"(?:[-+*]|\d{1,9}[.)])(?: {1,4}|\t|$)")
_HTML_BLOCK = re.compile(r"<(pre|script|style|textarea)(?:[\s>]|$)", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")
_INLINE_CODE = re.compile(r"<code\b[^>]*>.*?</code\s*>", re.IGNORECASE | re.DOTALL)


def _indent(line: str) -> tuple[int, str]:
    """Columns of leading whitespace (a tab reaches the next multiple of 4) and the rest."""
    column = 0
    for index, char in enumerate(line):
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            return column, line[index:]
    return column, ""


@dataclass
class _Fence:
    char: str
    length: int
    indent: int  # column of the opening fence: a closing fence may sit up to 3 further in

    def closes(self, line: str) -> bool:
        column, rest = _indent(line)
        if column > self.indent + 3:
            return False
        run = len(rest) - len(rest.lstrip(self.char))
        return run >= self.length and not rest[run:].strip()


def _open_fence(rest: str, column: int) -> _Fence | None:
    match = _FENCE.match(rest)
    if match is None:
        return None
    marks, info = match.groups()
    if marks[0] == "`" and "`" in info:
        return None  # ``` with a backtick in its info string is inline code, not a fence
    return _Fence(marks[0], len(marks), column)


def _hidden_ranges(text: str) -> list[tuple[int, int]]:
    """Merged, sorted [start, end) ranges of a paragraph that render as code or not at all:
    code spans, `<code>` elements and HTML comments. Where these overlap in ways CommonMark
    resolves differently, the range only grows: in doubt, a line is not a command."""
    spans = _code_spans(text)
    found = sorted(spans + _other_hidden(text))
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Code span contents: a backtick run opens a span closed by the next run of the same
    length (CommonMark); a backslash before a run makes its first backtick literal."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    starts: dict[int, list[int]] = {}
    ends: dict[int, int] = {}
    for start, end in runs:
        starts.setdefault(end - start, []).append(start)
        ends[start] = end
    spans: list[tuple[int, int]] = []
    position = 0
    for start, end in runs:
        if start < position:
            continue
        opener = start + 1 if _escaped(text, start) else start
        same = starts.get(end - opener, [])
        index = bisect.bisect_left(same, end)
        if end > opener and index < len(same):
            spans.append((end, same[index]))
            position = ends[same[index]]
    return spans


def _escaped(text: str, at: int) -> bool:
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _other_hidden(text: str) -> list[tuple[int, int]]:
    found = [(m.start(), m.end()) for m in _INLINE_CODE.finditer(text)]
    start = text.find("<!--")
    while start >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        found.append((start, end + 3))
        start = text.find("<!--", end + 3)
    return found


def _inside(ranges: list[tuple[int, int]], offset: int) -> bool:
    """`offset` lies in one of the merged, sorted `ranges`."""
    index = bisect.bisect_right(ranges, (offset, 1 << 62)) - 1
    return index >= 0 and ranges[index][0] <= offset < ranges[index][1]


@dataclass
class _Paragraph:
    lines: list[str] = field(default_factory=list)
    # (line number, offset in the joined text, text after the indentation) of command candidates
    candidates: list[tuple[int, int, str]] = field(default_factory=list)
    length: int = 0

    def add(self, number: int, line: str, candidate: str | None) -> None:
        offset = self.length + (1 if self.lines else 0)
        if candidate is not None:
            self.candidates.append((number, offset, candidate))
        self.lines.append(line)
        self.length = offset + len(line)

    def commands(self) -> list[Command]:
        if not self.candidates:
            return []
        hidden = _hidden_ranges("\n".join(self.lines))
        found = []
        for number, offset, text in self.candidates:
            if _inside(hidden, offset):
                continue
            match = _COMMAND.match(text)
            if match is not None:
                name: CommandName = "rollback" if match.group(1) == "rollback" else "help"
                argument = truncate(one_line(match.group(2)[: ARGUMENT_LIMIT * 4]), ARGUMENT_LIMIT)
                found.append(Command(name, argument, number))
        return found


def parse_commands(body: str) -> list[Command]:
    """The commands of a comment, in order. A command is `/rollback` or `/help` at the start
    of a line (after at most three spaces), followed by whitespace or the end of the line,
    and not inside a block quote (or its lazy continuation lines), a fenced code block
    (``` or ~~~, any length, also as a list item), an indented code block, a code span, a
    `<pre>`/`<code>` element or an HTML comment. Case-sensitive. Never raises."""
    text = str(body).replace("\r\n", "\n").replace("\r", "\n")
    commands: list[Command] = []
    paragraph = _Paragraph()
    fence: _Fence | None = None
    html_end: str | None = None  # the end marker of an open HTML block
    quoted = False

    def flush() -> None:
        nonlocal paragraph
        commands.extend(paragraph.commands())
        paragraph = _Paragraph()

    for number, line in enumerate(text.split("\n"), start=1):
        if fence is not None:
            if fence.closes(line):
                fence = None
            continue
        if html_end is not None:
            if html_end in line.lower():
                html_end = None
            continue
        column, rest = _indent(line)
        if not rest:
            flush()
            quoted = False
            continue
        if column < 4:
            inner, inner_column = rest, column
            marker = _LIST_MARKER.match(rest)
            if marker is not None:
                inner_column, inner = _indent(rest[marker.end() :])
                inner_column += column + marker.end()
            opened = _open_fence(inner, inner_column)
            if opened is not None:
                flush()
                fence, quoted = opened, False
                continue
            if inner.startswith(">"):
                flush()
                quoted = True
                continue
            if quoted:
                continue  # a lazy continuation line belongs to the quote above
            if rest.startswith("<!--"):
                flush()
                if "-->" not in rest[4:]:
                    html_end = "-->"
                continue
            block = _HTML_BLOCK.match(rest)
            if block is not None:
                flush()
                closing = f"</{block.group(1).lower()}>"
                if closing not in rest.lower():
                    html_end = closing
                continue
        elif quoted:
            continue
        paragraph.add(number, line, rest if column < 4 else None)
    flush()
    return commands


__all__ = ["ARGUMENT_LIMIT", "COMMANDS", "Command", "CommandName", "parse_commands"]
