"""YAML text the bot writes: safe scalars, plain-data blocks, and in-place edits of files people wrote.

Two jobs, both pure (bytes or values in, bytes or text out):

* Emitting. `yaml_scalar` turns one value into a YAML scalar that can never add a key or
  break a file (strings are always JSON-style double-quoted, with every character that is
  not plainly printable escaped); `yaml_block` writes plain data (mappings, lists, scalars)
  as a deterministic block. The render templates put every value through these.

* Editing a file a person wrote (Kargo's `SetValuesInBytes`). The file is composed with
  ruamel.yaml's round-trip parser only to learn where each value sits; the edit then splices
  the new scalar into the original text. Everything else (comments, key order, quoting of
  other values, blank lines, indentation, line endings, a byte-order mark) stays byte for
  byte, so `git diff` shows one changed line per changed value. The replaced scalar keeps
  its quoting style where that keeps its meaning: a plain `tag: v7` becomes `tag: v8` but a
  plain tag that would read as a number (`8`, `8.10`) or a boolean (`yes`) is double-quoted,
  a plain integer `version: 7` stays an integer, and quoted values stay quoted. After every
  edit the result is parsed again and must equal the old data with exactly the new values.

Key paths are dotted (`image.tag`); a sequence item is `[N]` or a numeric part
(`containers[0].image`, `containers.0.image`). A key that is missing is not added to a
person's values file: the caller gets `InvalidInput` saying how to fix it.
"""

from __future__ import annotations

import datetime
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from bot.core.errors import InvalidInput
from bot.core.loading import field_path

STR_TAG = "tag:yaml.org,2002:str"
INT_TAG = "tag:yaml.org,2002:int"
NULL_TAG = "tag:yaml.org,2002:null"

# --------------------------------------------------------------------------------------------
# Emitting
# --------------------------------------------------------------------------------------------

# Printable ASCII except '"' and '\\': written as is inside double quotes.
_NEEDS_ESCAPE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\b": "\\b",
    "\f": "\\f",
}
# Controls (C0, DEL, C1), and what YAML reads as a line break or forbids raw (BOM,
# non-characters) are written as \uXXXX: the file stays one line per value.
_ESCAPE_ABOVE_ASCII = (0x85, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
_ESCAPES = {
    code: f"\\u{code:04x}" for code in (*range(0x20), *range(0x7F, 0xA0), *_ESCAPE_ABOVE_ASCII)
} | {ord(char): escaped for char, escaped in _SHORT_ESCAPES.items()}
_PLAIN_CANDIDATE = re.compile(r"[A-Za-z0-9_/](?:[A-Za-z0-9_./@+:-]*[A-Za-z0-9_./@+-])?")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))


class YamlValueError(ValueError):
    """A value that YAML cannot carry (a lone surrogate, an unsupported type)."""


def double_quoted(text: str) -> str:
    """A JSON-style double-quoted YAML scalar holding exactly `text`, on one line."""
    if not _NEEDS_ESCAPE.search(text):
        return f'"{text}"'
    if _SURROGATE.search(text):
        raise YamlValueError(f"{text!r} holds a lone surrogate (not valid Unicode text)")
    return f'"{text.translate(_ESCAPES)}"'


@lru_cache(maxsize=4096)
def plain_is_safe(text: str) -> bool:
    """True when `text` written unquoted reads back as this very string in YAML 1.1 and 1.2.

    Conservative on purpose: only letters, digits and `_ . / @ + - :` (no `#`, spaces or
    flow indicators, no `:` at the end), not starting with an indicator, and not something
    a YAML 1.1 or 1.2 reader would take for a number, boolean, null or timestamp (`8`,
    `8.10`, `yes`, `~`, `1:20`).
    """
    if not _PLAIN_CANDIDATE.fullmatch(text):
        return False
    return all(r.resolve(ScalarNode, text, (True, False)) == STR_TAG for r in _RESOLVERS)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        # YAML 1.1 readers need a dot: 1e-05 -> 1.0e-05
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def yaml_scalar(value: object) -> str:
    """One YAML scalar for `value`: strings double-quoted, numbers, booleans and null plain."""
    if type(value) is str:
        return double_quoted(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _float_text(float(value))
    if isinstance(value, str):
        return double_quoted(value)
    if isinstance(value, datetime.date):
        return double_quoted(value.isoformat())
    raise YamlValueError(f"cannot write a {type(value).__name__} as a YAML scalar")


def yaml_key(key: object) -> str:
    """A mapping key: plain when that reads back as the same string, else quoted."""
    if isinstance(key, str) and ":" not in key and plain_is_safe(key):
        return key
    return yaml_scalar(key)


def _is_collection(value: object) -> bool:
    if type(value) in (dict, list, tuple):
        return True
    if type(value) in (str, int, float, bool) or value is None:
        return False
    return isinstance(value, Mapping) or (
        isinstance(value, Sequence) and not isinstance(value, str | bytes)
    )


def _block_lines(value: object, indent: int) -> Iterator[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        for key, item in value.items():
            head = f"{pad}{yaml_key(key)}:"
            if _is_collection(item) and item:
                yield head
                yield from _block_lines(item, indent + 2)
            else:
                yield f"{head} {_inline(item)}"
    else:
        assert isinstance(value, Sequence)
        for item in value:
            if isinstance(item, Mapping) and item:
                lines = list(_block_lines(item, indent + 2))
                yield f"{pad}- {lines[0][indent + 2 :]}"
                yield from lines[1:]
            elif _is_collection(item) and item:
                yield f"{pad}-"
                yield from _block_lines(item, indent + 2)
            else:
                yield f"{pad}- {_inline(item)}"


def _inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if _is_collection(value):
        return "[]"
    return yaml_scalar(value)


def yaml_block(value: object, indent: int = 0) -> str:
    """Plain data as a block (no trailing newline); keys in the data's own order.

    A mapping at `indent` 0 is a whole document; with `indent` N its lines start with N
    spaces, for use under a key the template wrote itself.
    """
    if not _is_collection(value) or not value:
        return _inline(value)
    return "\n".join(_block_lines(value, indent))[indent:]


# --------------------------------------------------------------------------------------------
# Key paths and image references
# --------------------------------------------------------------------------------------------

_SEGMENT = re.compile(r"([^.\[\]\s]+)((?:\[\d+\])*)")
KeyPart = str | int


@lru_cache(maxsize=1024)
def parse_key_path(path: str) -> tuple[KeyPart, ...]:
    """`image.tag` -> ('image', 'tag'); `spec.containers[0].image` -> (..., 'containers', 0, 'image')."""
    if not isinstance(path, str) or not path:
        raise ValueError("empty key path (write e.g. image.tag)")
    parts: list[KeyPart] = []
    for segment in path.split("."):
        match = _SEGMENT.fullmatch(segment)
        if not match:
            raise ValueError(f"bad key path {path!r} (write dotted keys, e.g. image.tag)")
        parts.append(match.group(1))
        parts.extend(int(index) for index in re.findall(r"\[(\d+)\]", match.group(2)))
    return tuple(parts)


class ImageRef(NamedTuple):
    """`registry:5000/org/app:tag@sha256:...` split into its parts."""

    repository: str
    tag: str | None
    digest: str | None


def split_image(ref: str) -> ImageRef:
    rest, _, digest = ref.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return ImageRef(rest[:colon], rest[colon + 1 :], digest or None)
    return ImageRef(rest, None, digest or None)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def decode(data: bytes, source: str) -> tuple[str, bool]:
    """UTF-8 text and whether it began with a byte-order mark."""
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data[3:].decode("utf-8") if bom else data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.one(source, "", "not UTF-8 text (save the file as UTF-8)") from None
    return text, bom


def encode(text: str, bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _yaml_problem(error: YAMLError, source: str) -> InvalidInput:
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "(parse)"
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return InvalidInput.one(source, where, f"invalid YAML: {problem} (fix the syntax)")


def _compose_all(text: str, source: str) -> list[Node]:
    try:
        return [node for node in YAML().compose_all(text) if node is not None]
    except YAMLError as error:
        raise _yaml_problem(error, source) from None


def load_all(data: bytes, source: str) -> list[Any]:
    """Every document of a YAML file as plain Python data (safe loader)."""
    text, _ = decode(data, source)
    try:
        return [doc for doc in YAML(typ="safe", pure=True).load_all(text) if doc is not None]
    except YAMLError as error:
        raise _yaml_problem(error, source) from None


def _plain(value: Any) -> Any:
    """Round-trip data (CommentedMap, ScalarString, TaggedScalar...) as comparable plain data."""
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else float(value)
    if isinstance(value, str):
        return str(value)
    tag = getattr(value, "tag", None)
    if tag is not None and hasattr(value, "value"):
        return ("tagged", str(getattr(tag, "value", tag)), _plain(value.value))
    return value


def _load_rt(text: str, source: str) -> list[Any]:
    try:
        return [_plain(doc) for doc in YAML().load_all(text)]
    except YAMLError as error:
        raise _yaml_problem(error, source) from None


# --------------------------------------------------------------------------------------------
# Editing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Splice:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Expected:
    """After the edit, document `doc` holds `value` at `path`."""

    doc: int
    path: tuple[KeyPart, ...]
    value: object


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _mapping_value(
    node: MappingNode, key: str, source: str, where: str
) -> tuple[ScalarNode, Node] | None:
    found = [(k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == key]
    if len(found) > 1:
        raise InvalidInput.one(source, where, "duplicate key (keep one of them)")
    return found[0] if found else None


def _find(
    root: Node, parts: Sequence[KeyPart], source: str, key_path: str, fix: str
) -> tuple[ScalarNode | None, Node]:
    """The node at `parts` and the key node naming it (None for a sequence item)."""
    node: Node = root
    key_node: ScalarNode | None = None
    for depth, part in enumerate(parts):
        where = field_path(tuple(parts[: depth + 1]))
        subject = "key not found" if depth == len(parts) - 1 else f"no key {where}"
        if isinstance(node, SequenceNode) and (
            isinstance(part, int) or (isinstance(part, str) and part.isdigit())
        ):
            index = int(part)
            if index >= len(node.value):
                raise InvalidInput.one(source, key_path, f"no such item {where} ({fix})")
            node, key_node = node.value[index], None
        elif isinstance(node, MappingNode) and isinstance(part, str):
            pair = _mapping_value(node, part, source, where)
            if pair is None:
                raise InvalidInput.one(source, key_path, f"{subject} ({fix})")
            key_node, node = pair
        else:
            raise InvalidInput.one(
                source, key_path, f"cannot go into a {_kind(node)} at {where} ({fix})"
            )
        if node.anchor is not None or (
            key_node is not None and node.start_mark.index < key_node.end_mark.index
        ):
            raise InvalidInput.one(
                source, key_path, "value uses a YAML anchor or alias (edit it by hand)"
            )
    return key_node, node


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "list"
    return "scalar"


def _value_splice(
    text: str, key_node: ScalarNode | None, node: Node, value: str, source: str, key_path: str
) -> tuple[_Splice, object]:
    """Where and what to write for `value`, and the value the file will then hold."""
    if not isinstance(node, ScalarNode):
        raise InvalidInput.one(
            source, key_path, f"is a {_kind(node)}, expected a single value (fix the key path)"
        )
    start, end = node.start_mark.index, node.end_mark.index
    style = node.style
    if start == end:  # empty value: `tag:` -> `tag: "8"`
        if key_node is None:
            raise InvalidInput.one(source, key_path, "empty list item (write a value there)")
        colon = text.index(":", key_node.end_mark.index)
        return _Splice(colon + 1, colon + 1, f" {_quoted_for(value, None, NULL_TAG)[0]}"), value
    if text[start] in "!&*":
        raise InvalidInput.one(
            source, key_path, "value carries a YAML tag or anchor (edit it by hand)"
        )
    if style in ("|", ">"):
        new = double_quoted(value) + _newline(text)
        return _Splice(start, end, new), value
    new, held = _quoted_for(value, style, node.tag)
    return _Splice(start, end, new), held


def _quoted_for(value: str, style: str | None, tag: str | None) -> tuple[str, object]:
    if style == '"':
        return double_quoted(value), value
    if style == "'":
        if all(_single_quotable(c) for c in value):
            return "'" + value.replace("'", "''") + "'", value
        return double_quoted(value), value
    if plain_is_safe(value):
        return value, value
    if tag == INT_TAG and _DECIMAL.fullmatch(value):
        return value, int(value)  # `version: 7` stays an integer
    return double_quoted(value), value


def _single_quotable(char: str) -> bool:
    code = ord(char)
    return code not in _ESCAPES and not 0xD800 <= code <= 0xDFFF


def _apply(text: str, splices: Iterable[_Splice]) -> str:
    """Apply non-overlapping splices; insertions at one point keep their given order."""
    ordered = sorted(splices, key=lambda s: (s.start, s.end))
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise AssertionError("overlapping edits")
    for splice in reversed(ordered):
        text = text[: splice.start] + splice.text + text[splice.end :]
    return text


def _set_plain(data: Any, path: Sequence[KeyPart], value: object) -> None:
    for part in path[:-1]:
        data = data[int(part) if isinstance(data, list) else part]
    last = path[-1]
    data[int(last) if isinstance(data, list) else last] = value


def _verified(old_text: str, new_text: str, expected: Sequence[_Expected], source: str) -> str:
    """Parse again: the new file must be the old data with exactly the new values."""
    want = _load_rt(old_text, source)
    for item in expected:
        _set_plain(want[item.doc], item.path, item.value)
    try:
        got = _load_rt(new_text, source)
    except InvalidInput as error:
        raise AssertionError(f"edit broke {source}: {error}") from None
    if got != want:
        raise AssertionError(f"edit of {source} changed more than the intended values")
    return new_text


def _edit(
    data: bytes, source: str, plan: Callable[[str, list[Node]], list[tuple[_Splice, _Expected]]]
) -> bytes:
    text, bom = decode(data, source)
    docs = _compose_all(text, source)
    edits = plan(text, docs)
    if not edits:
        return data
    new_text = _apply(text, [splice for splice, _ in edits])
    if new_text == text:
        return data
    return encode(_verified(text, new_text, [e for _, e in edits], source), bom)


def set_values_in_bytes(data: bytes, changes: Mapping[str, str], source: str) -> bytes:
    """Set each dotted key path of a one-document YAML file to its new string value.

    Every key path must already exist: a missing one raises `InvalidInput` naming the file
    and the key path (add the key to the file, or point `value_keys` in .model-bot.yaml at
    the key the file uses). Unchanged values leave the bytes untouched.
    """

    def plan(text: str, docs: list[Node]) -> list[tuple[_Splice, _Expected]]:
        if len(docs) != 1:
            raise InvalidInput.one(
                source, "", f"expected one YAML document, found {len(docs)} (use one per file)"
            )
        edits = []
        fix = "add the key to the file, or set value_keys in .model-bot.yaml to the key it uses"
        for key_path, value in changes.items():
            try:
                parts = parse_key_path(key_path)
            except ValueError as error:
                raise InvalidInput.one(source, key_path, str(error)) from None
            key_node, node = _find(docs[0], parts, source, key_path, fix)
            if isinstance(node, ScalarNode) and _same(node, value):
                continue
            splice, held = _value_splice(text, key_node, node, value, source, key_path)
            edits.append((splice, _Expected(0, parts, held)))
        return edits

    return _edit(data, source, plan)


def _same(node: ScalarNode, value: str) -> bool:
    """The node already holds `value` (as a string, or as the same plain integer)."""
    if node.value != value:
        return False
    return node.style is not None or node.tag in (STR_TAG, INT_TAG)


def _mapping_items(node: Node) -> Iterator[tuple[str, Node]]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield key.value, value


def _get(node: Node, *keys: str) -> Node | None:
    found: Node | None = node
    for key in keys:
        if found is None:
            return None
        found = dict(_mapping_items(found)).get(key)
    return found


def set_image_tag_in_bytes(data: bytes, repository: str, tag: str, source: str) -> bytes:
    """Set the tag of every `Rollout` container running `repository`; nothing else changes.

    Looks at `spec.template.spec.containers[*].image` of each Rollout document. Raises
    `InvalidInput` when no container runs the image, or when one pins it by digest.
    """

    def plan(text: str, docs: list[Node]) -> list[tuple[_Splice, _Expected]]:
        edits = []
        matched = 0
        for index, doc in enumerate(docs):
            kind = _get(doc, "kind")
            if not (isinstance(kind, ScalarNode) and kind.value == "Rollout"):
                continue
            containers = _get(doc, "spec", "template", "spec", "containers")
            if not isinstance(containers, SequenceNode):
                continue
            for position, container in enumerate(containers.value):
                image_node = _get(container, "image")
                if not isinstance(image_node, ScalarNode):
                    continue
                ref = split_image(image_node.value)
                if ref.repository != repository:
                    continue
                matched += 1
                key_path = f"spec.template.spec.containers[{position}].image"
                if ref.digest is not None:
                    raise InvalidInput.one(
                        source,
                        key_path,
                        f"image {image_node.value!r} is pinned by digest (remove the "
                        "@sha256:... part so a tag can select the version)",
                    )
                new_ref = f"{repository}:{tag}"
                if image_node.value == new_ref:
                    continue
                parts = ("spec", "template", "spec", "containers", position, "image")
                key_node, node = _find(doc, parts, source, key_path, "")
                splice, held = _value_splice(text, key_node, node, new_ref, source, key_path)
                edits.append((splice, _Expected(index, parts, held)))
        if not matched:
            raise InvalidInput.one(
                source,
                "spec.template.spec.containers",
                f"no Rollout container runs image {repository!r} (set its image to "
                f"{repository}:<tag>, or pass the image the file uses with --image)",
            )
        return edits

    return _edit(data, source, plan)


def set_kustomize_image_in_bytes(
    data: bytes,
    name: str,
    tag: str,
    source: str,
    *,
    new_name: str | None = None,
    fallback_new_name: str | None = None,
) -> bytes:
    """Set `newTag` (and `newName` when given) of the `images` entry named `name`.

    An entry matches when its `name` is `name`, or, if none does, when its `newName` is
    `fallback_new_name`. A missing `newTag`/`newName` key is added under the entry with
    the entry's own indentation. Raises `InvalidInput` when no entry matches or the entry
    pins a `digest` (which would win over the tag).
    """

    def plan(text: str, docs: list[Node]) -> list[tuple[_Splice, _Expected]]:
        if len(docs) != 1 or not isinstance(docs[0], MappingNode):
            raise InvalidInput.one(source, "", "expected one Kustomization mapping")
        images = _get(docs[0], "images")
        entries = list(images.value) if isinstance(images, SequenceNode) else []
        chosen = _matching_entries(entries, "name", name) or (
            _matching_entries(entries, "newName", fallback_new_name) if fallback_new_name else []
        )
        if not chosen:
            raise InvalidInput.one(
                source,
                "images",
                f"no entry with name {name!r} (add `- name: {name}` with a newTag under "
                "images, or set kustomize.image in .model-bot.yaml)",
            )
        edits = []
        for position, entry in chosen:
            field = f"images[{position}]"
            if _get(entry, "digest") is not None:
                raise InvalidInput.one(
                    source, f"{field}.digest", "pins a digest, which wins over newTag (remove it)"
                )
            wanted = {"newTag": tag} if new_name is None else {"newName": new_name, "newTag": tag}
            for key, value in wanted.items():
                edits.extend(_set_or_add(text, docs[0], entry, position, key, value, source))
        return edits

    return _edit(data, source, plan)


def _matching_entries(
    entries: Sequence[Node], key: str, wanted: str | None
) -> list[tuple[int, Node]]:
    found = []
    for position, entry in enumerate(entries):
        node = _get(entry, key)
        if isinstance(node, ScalarNode) and node.value == wanted:
            found.append((position, entry))
    return found


def _set_or_add(
    text: str, doc: Node, entry: Node, position: int, key: str, value: str, source: str
) -> list[tuple[_Splice, _Expected]]:
    parts = ("images", position, key)
    field = f"images[{position}].{key}"
    if _get(entry, key) is not None:
        key_node, node = _find(doc, parts, source, field, "")
        if isinstance(node, ScalarNode) and _same(node, value):
            return []
        splice, held = _value_splice(text, key_node, node, value, source, field)
        return [(splice, _Expected(0, parts, held))]
    assert isinstance(entry, MappingNode)
    scalar = value if plain_is_safe(value) else double_quoted(value)
    if entry.flow_style:
        close = text.rindex("}", entry.start_mark.index, entry.end_mark.index)
        separator = ", " if entry.value else ""
        return [(_Splice(close, close, f"{separator}{key}: {scalar}"), _Expected(0, parts, value))]
    if not entry.value:
        raise InvalidInput.one(source, f"images[{position}]", "empty entry (add a name)")
    column = entry.value[0][0].start_mark.column
    end = entry.value[-1][1].end_mark.index
    newline = _newline(text)
    if end > 0 and text[end - 1] == "\n":
        at, lead = end, ""
    else:
        line_end = text.find("\n", end)
        at, lead = (len(text), newline) if line_end == -1 else (line_end + 1, "")
    line = f"{lead}{' ' * column}{key}: {scalar}{newline}"
    return [(_Splice(at, at, line), _Expected(0, parts, value))]


__all__ = [
    "ImageRef",
    "YamlValueError",
    "decode",
    "double_quoted",
    "encode",
    "load_all",
    "parse_key_path",
    "plain_is_safe",
    "set_image_tag_in_bytes",
    "set_kustomize_image_in_bytes",
    "set_values_in_bytes",
    "split_image",
    "yaml_block",
    "yaml_key",
    "yaml_scalar",
]
