"""Read YAML/JSON input files into validated pydantic models, reporting every problem at once."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.core.errors import InvalidInput, Problem

ModelT = TypeVar("ModelT", bound=BaseModel)


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
        return f"expected {_TYPE_NAMES[kind]}, got {_short(error.get('input'))}"
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


def _short(value: object) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


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


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput.one(str(path), "", f"{what} file not found (check the path)") from None
    except IsADirectoryError:
        raise InvalidInput.one(str(path), "", f"is a directory, expected a {what} file") from None
    except UnicodeDecodeError:
        raise InvalidInput.one(str(path), "", f"{what} file is not UTF-8 text") from None
    except OSError as error:
        raise InvalidInput.one(
            str(path), "", f"cannot read {what} file: {error.strerror}"
        ) from None


def parse_yaml(text: str, source: str) -> object:
    """Safe-load YAML (no tags, no duplicate keys) into plain Python data."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        return yaml.load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(parse)"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InvalidInput.one(source, where, f"invalid YAML: {problem} (fix the syntax)") from None


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


def parse_json(text: str, source: str) -> object:
    try:
        return json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_refuse_duplicates
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


def load_file(path: Path, model: type[ModelT], what: str) -> ModelT:
    """Read a YAML or JSON file (by suffix; YAML is a superset otherwise) into `model`."""
    text = read_text(path, what)
    source = str(path)
    data = parse_json(text, source) if path.suffix == ".json" else parse_yaml(text, source)
    if data is None:
        raise InvalidInput.one(source, "", f"{what} file is empty")
    return validate_data(data, model, source)
