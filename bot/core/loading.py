"""Read YAML/JSON input files into validated pydantic models, reporting every problem at once.

Input files are untrusted (a policy or gate results from a pull request, a config from the
environment repo), so reading them is bounded:

* size, checked before parsing: `MAX_DOCUMENT_BYTES` (1 MiB) for policies and configs,
  `MAX_GATE_RESULTS_BYTES` (64 MiB) for gate results, which may carry per-example scores
  (1,000,000 paired scores take at most 50 MiB: 24 characters for the longest float);
* YAML values, counted while composing, each alias counting as the values it repeats
  (`MAX_YAML_NODES`: "billion laughs" stay bounded), and nesting (`MAX_YAML_DEPTH`);
* numbers: an integer of more than `MAX_DIGITS` digits, or a literal too large for a float
  (`1e400`), is refused naming its field, rather than hitting Python's int-string limit or
  becoming infinity.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.core.errors import InvalidInput, Problem

ModelT = TypeVar("ModelT", bound=BaseModel)

MIB = 1024 * 1024
MAX_DOCUMENT_BYTES = 1 * MIB  # a policy or a config: a few KB in practice
MAX_GATE_RESULTS_BYTES = 64 * MIB  # per-example scores: 1,000,000 paired take <= 50 MiB
MAX_YAML_NODES = 20_000  # values (keys too) of a YAML document, aliases expanded
MAX_YAML_DEPTH = 100
MAX_DIGITS = 100  # of an integer: 10**100 is well within a float (1.8e308)
FLOAT_MAX_TEXT = "1.8e308"
DOCUMENT_FIX = "check that it is the right file"


def field_path(loc: tuple[int | str, ...]) -> str:
    """`('gates', 1, 'metric')` -> `gates[1].metric`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_TYPE_NAMES = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}

_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}


def _describe(error: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field (remove it or fix its spelling)"
    if kind == "missing":
        return "required field is missing (add it)"
    if kind in _TYPE_NAMES:
        given = error.get("input")
        return f"expected {_TYPE_NAMES[kind]}, got {_short(given)}{_number_hint(kind, given)}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"got {_short(error.get('input'))}, use one of {expected}"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in _BOUNDS:
        limit = error.get("ctx", {}).get(_BOUNDS[kind][0])
        return f"must be {_BOUNDS[kind][1]} {limit}, got {_short(error.get('input'))}"
    message = str(error.get("msg", "invalid value"))
    return message[0].lower() + message[1:] if message else "invalid value"


_NUMBER_TEXT = re.compile(
    r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*|\s*[+-]?(?:nan|inf(?:inity)?)\s*",
    re.IGNORECASE,
)


def _number_hint(kind: str, given: object) -> str:
    """Why a number field refused a string or a boolean: numbers are strict."""
    if not kind.startswith(("float_", "int_")):
        return ""
    if isinstance(given, bool):
        return " (true and false are not numbers: write 1 or 0)"
    if isinstance(given, str) and _NUMBER_TEXT.fullmatch(given):
        return " (write the number without quotes)"
    return ""


def _short(value: object) -> str:
    """At most 40 characters of `value` as JSON, encoded lazily: a value shared many times
    over (YAML aliases) is never expanded whole."""
    encoder = json.JSONEncoder(default=str, ensure_ascii=False)
    text = ""
    for chunk in encoder.iterencode(value):
        text += chunk
        if len(text) > 40:
            return text[:37] + "..."
    return text


def problems_from(error: ValidationError, source: str, model: type[BaseModel]) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        problems.append(Problem(source, field_path(loc) or "(top level)", _describe(item, model)))
    return problems


def validate_data(data: object, model: type[ModelT], source: str) -> ModelT:
    """Validate already-parsed data; raise `InvalidInput` listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(problems_from(error, source, model)) from None


def _bytes(count: int) -> str:
    """A size, exact: `8,589,934,592 bytes`."""
    return f"{count:,} bytes"


def _limit(count: int) -> str:
    """A limit, round: `1 MiB`, `64 MiB` (else exact)."""
    return f"{count // MIB} MiB" if count >= MIB and count % MIB == 0 else _bytes(count)


def too_big(size: int, max_bytes: int, what: str, fix: str) -> str:
    """`scores file is 70,000,000 bytes, over the 64 MiB limit for a scores file (fix)`."""
    return _too_big_message(_bytes(size), max_bytes, what, fix)


def _too_big_message(size: str, max_bytes: int, what: str, fix: str) -> str:
    return f"{what} file is {size}, over the {_limit(max_bytes)} limit for a {what} file ({fix})"


def _too_big(path: Path, size: str, max_bytes: int, what: str, fix: str) -> InvalidInput:
    return InvalidInput.one(str(path), "", _too_big_message(size, max_bytes, what, fix))


def read_text(
    path: Path, what: str, max_bytes: int = MAX_DOCUMENT_BYTES, fix: str = DOCUMENT_FIX
) -> str:
    """The UTF-8 text of `path` (universal newlines), refused unread when it is larger than
    `max_bytes`; a stream without a size (a pipe, a device) is read only up to the limit."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise _too_big(path, _bytes(size), max_bytes, what, fix)
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InvalidInput.one(str(path), "", f"{what} file not found (check the path)") from None
    except IsADirectoryError:
        raise InvalidInput.one(str(path), "", f"is a directory, expected a {what} file") from None
    except OSError as error:
        raise InvalidInput.one(
            str(path), "", f"cannot read {what} file: {error.strerror}"
        ) from None
    if len(data) > max_bytes:
        raise _too_big(path, f"more than {_limit(max_bytes)}", max_bytes, what, fix)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.one(str(path), "", f"{what} file is not UTF-8 text") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_size(text: str, source: str, max_bytes: int, what: str) -> None:
    """Refuse `text` larger than `max_bytes` in UTF-8, before parsing it."""
    if len(text) * 4 <= max_bytes:  # no encoding needed to know it fits
        return
    size = len(text) if len(text) > max_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidInput.one(
            source,
            "",
            f"is {_bytes(size)}, over the {_limit(max_bytes)} limit for {what} ({DOCUMENT_FIX})",
        )


# --- numbers a float cannot hold ---------------------------------------------------------


class _Unrepresentable:
    """Stands, in parsed data, for a number refused while parsing; `_number_problems` then
    names its field."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _long_integer(digits: int) -> _Unrepresentable:
    return _Unrepresentable(
        f"number with {digits} digits is too long (at most {MAX_DIGITS} digits; write e.g. 1.5e30)"
    )


def _overflow(text: str) -> _Unrepresentable:
    shown = text if len(text) <= 30 else text[:27] + "..."
    return _Unrepresentable(
        f"number {shown} is too large for a float (at most about {FLOAT_MAX_TEXT})"
    )


def _number_problems(data: object, source: str) -> list[Problem]:
    """Where `_Unrepresentable` numbers sit in `data`, in document order."""
    problems: list[Problem] = []
    todo: list[tuple[tuple[int | str, ...], object]] = [((), data)]
    while todo:
        loc, value = todo.pop()
        if isinstance(value, _Unrepresentable):
            problems.append(Problem(source, field_path(loc) or "(top level)", value.message))
        elif isinstance(value, dict):
            for key in value:
                if isinstance(key, _Unrepresentable):
                    problems.append(Problem(source, field_path(loc) or "(top level)", key.message))
            todo.extend(((*loc, str(k)), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
    return problems


class _TooLarge(Exception):
    """A YAML document over `MAX_YAML_NODES` or `MAX_YAML_DEPTH`, or a recursive alias."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@functools.cache
def _bounded_yaml_classes() -> tuple[type[Any], type[Any]]:
    """A composer that counts values (aliases at their expanded size) and a constructor
    that refuses numbers a float cannot hold; built on first use (ruamel loads lazily)."""
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.constructor import SafeConstructor
    from ruamel.yaml.events import AliasEvent

    class BoundedComposer(Composer):
        def __init__(self, loader: Any = None) -> None:
            super().__init__(loader)
            self.values = 0
            self.sizes: dict[int, int] = {}  # id(anchored node) -> values it stands for

        def _spend(self, count: int, event: Any) -> None:
            self.values += count
            if self.values > MAX_YAML_NODES:
                raise _TooLarge(
                    f"too large: more than {MAX_YAML_NODES} YAML values, each alias counting "
                    "as the values it repeats (a policy or config needs a few hundred)",
                    event.start_mark.line + 1,
                )

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.parser.peek_event()
            if isinstance(event, AliasEvent):
                node = self.anchors.get(event.anchor)
                if node is not None:
                    size = self.sizes.get(id(node))
                    if size is None:  # its node is still being composed: it contains itself
                        raise _TooLarge(
                            f"alias {event.anchor!r} refers to a value that contains it: a "
                            "recursive structure (repeat the values instead)",
                            event.start_mark.line + 1,
                        )
                    self._spend(size, event)
                return super().compose_node(parent, index)
            if self.depth >= MAX_YAML_DEPTH:
                raise _TooLarge(
                    f"nested more than {MAX_YAML_DEPTH} levels deep (a policy or config needs "
                    "fewer than 10)",
                    event.start_mark.line + 1,
                )
            before = self.values
            self._spend(1, event)
            node = super().compose_node(parent, index)
            if event.anchor is not None:
                self.sizes[id(node)] = self.values - before
            return node

    class BoundedConstructor(SafeConstructor):
        def construct_yaml_int(self, node: Any) -> Any:
            digits = len(str(node.value).replace("_", "").lstrip("+-"))
            if digits > MAX_DIGITS:
                return _long_integer(digits)
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node: Any) -> Any:
            value = super().construct_yaml_float(node)
            text = str(node.value)
            if math.isinf(value) and text.lower().lstrip("+-") != ".inf":
                return _overflow(text)
            return value

    BoundedConstructor.add_constructor(
        "tag:yaml.org,2002:int", BoundedConstructor.construct_yaml_int
    )
    BoundedConstructor.add_constructor(
        "tag:yaml.org,2002:float", BoundedConstructor.construct_yaml_float
    )
    return BoundedComposer, BoundedConstructor


def parse_yaml(text: str, source: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> object:
    """Safe-load YAML (no tags, no duplicate keys) into plain Python data, within the limits
    (size, values, depth, numbers) described at the top of this module."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    _check_size(text, source, max_bytes, "YAML input")
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer, yaml.Constructor = _bounded_yaml_classes()
    try:
        data = yaml.load(text)
    except _TooLarge as error:
        raise InvalidInput.one(source, f"line {error.line}", error.message) from None
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(parse)"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InvalidInput.one(source, where, f"invalid YAML: {problem} (fix the syntax)") from None
    problems = _number_problems(data, source)
    if problems:
        raise InvalidInput(problems)
    return data


def _reject_constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's `object_pairs_hook`: a repeated key is an error, as in `parse_yaml`, not the
    last value silently winning."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def parse_json(text: str, source: str, max_bytes: int = MAX_GATE_RESULTS_BYTES) -> object:
    """Parse JSON (`NaN` and `Infinity` allowed, duplicate keys not) within `max_bytes`,
    refusing numbers a float cannot hold with the field they are in."""
    _check_size(text, source, max_bytes, "JSON input")
    refused: list[_Unrepresentable] = []

    def integer(literal: str) -> int | _Unrepresentable:
        digits = len(literal) - literal.startswith("-")
        if digits <= MAX_DIGITS:
            return int(literal)
        refused.append(_long_integer(digits))
        return refused[-1]

    def real(literal: str) -> float | _Unrepresentable:
        value = float(literal)
        if not math.isinf(value):
            return value
        refused.append(_overflow(literal))
        return refused[-1]

    try:
        data = json.loads(
            text,
            parse_constant=_reject_constant,
            object_pairs_hook=_refuse_duplicates,
            parse_int=integer,
            parse_float=real,
        )
    except _DuplicateKey as error:
        raise InvalidInput.one(
            source, "", f"invalid JSON: duplicate key {error.key!r} (keep only one)"
        ) from None
    except json.JSONDecodeError as error:
        raise InvalidInput.one(
            source, f"line {error.lineno}", f"invalid JSON: {error.msg} (fix the syntax)"
        ) from None
    except RecursionError:
        raise InvalidInput.one(source, "", "invalid JSON: nested too deeply") from None
    if refused:
        raise InvalidInput(_number_problems(data, source))
    return data


def load_file(
    path: Path, model: type[ModelT], what: str, max_bytes: int = MAX_DOCUMENT_BYTES
) -> ModelT:
    """Read a YAML or JSON file (by suffix; YAML is a superset otherwise) into `model`."""
    text = read_text(path, what, max_bytes)
    source = str(path)
    data = (
        parse_json(text, source, max_bytes)
        if path.suffix == ".json"
        else parse_yaml(text, source, max_bytes)
    )
    if data is None:
        raise InvalidInput.one(source, "", f"{what} file is empty")
    return validate_data(data, model, source)
