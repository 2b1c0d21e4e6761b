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

Files are read as Go's YAML (what Helm, kubectl and kustomize use) reads them where
ruamel.yaml is stricter: a TAB among the blanks before a comment or at the end of a line
(`tag: v1<TAB># CI`) is accepted and kept. Image names are compared the way Docker
resolves them (`normalize_image_name`: `nginx`, `library/nginx`, `docker.io/library/nginx`
and `index.docker.io/library/nginx` are one image), and written back as the file spells them.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
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


DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


def normalize_image_name(name: str) -> str:
    """An image repository as Docker resolves it: `nginx` -> `docker.io/library/nginx`.

    The first path part is a registry when it has a `.` or a `:` or is `localhost`;
    otherwise the image is on Docker Hub. Docker Hub's other names (`index.docker.io`,
    `registry-1.docker.io`) become `docker.io`, and its one-part names get `library/`.
    """
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
    if registry.lower() in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return f"{registry}/{path}"


def same_image(a: str, b: str) -> bool:
    """Two repository names name the same image (`argoproj/x` and `docker.io/argoproj/x`)."""
    return a == b or normalize_image_name(a) == normalize_image_name(b)


def image_reference(repository: str, tag: str, digest: str | None = None) -> str:
    """`repository:tag`, or `repository:tag@digest` when the digest is known."""
    return f"{repository}:{tag}@{digest}" if digest else f"{repository}:{tag}"


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


# A run of blanks holding a TAB, after something on the line, before a comment or the end
# of the line: Go's YAML reads it as white space, ruamel.yaml refuses the TAB.
_TAB_BLANKS = re.compile(r"(?<=\S)[ \t]*\t[ \t]*(?=#|\r?\n|\Z)")


def _scalar_spans(nodes: Iterable[Node]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ScalarNode):
            spans.append((node.start_mark.index, node.end_mark.index))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return sorted(spans)


def _replace_tabs(text: str, positions: Iterable[int]) -> str:
    chars = list(text)
    for position in positions:
        chars[position] = " "
    return "".join(chars)


def parsable(text: str) -> str:
    """`text` as ruamel.yaml can parse it, character for character at the same offsets.

    A TAB among the blanks before a comment or at the end of a line becomes a space
    (Go's YAML, which Helm and kustomize use, accepts it; ruamel.yaml does not). A TAB
    inside a scalar (a quoted string, a block scalar) is content and stays. Positions of
    the parsed nodes are positions in `text`, so edits splice into the original bytes.
    """
    if "\t" not in text:
        return text
    tabs = [
        match.start() + offset
        for match in _TAB_BLANKS.finditer(text)
        for offset, char in enumerate(match.group())
        if char == "\t"
    ]
    if not tabs:
        return text
    candidate = _replace_tabs(text, tabs)
    try:
        spans = _scalar_spans(node for node in YAML().compose_all(candidate) if node is not None)
    except YAMLError:
        return text  # broken anyway: report the file as it is
    starts = [start for start, _ in spans]
    outside = []
    for tab in tabs:
        index = bisect.bisect_right(starts, tab) - 1
        if index < 0 or tab >= spans[index][1]:
            outside.append(tab)
    return _replace_tabs(text, outside)


def _compose_all(text: str, source: str) -> list[Node]:
    try:
        return [node for node in YAML().compose_all(parsable(text)) if node is not None]
    except YAMLError as error:
        raise _yaml_problem(error, source) from None


def load_all(data: bytes, source: str) -> list[Any]:
    """Every document of a YAML file as plain Python data (safe loader)."""
    text, _ = decode(data, source)
    try:
        return [
            doc for doc in YAML(typ="safe", pure=True).load_all(parsable(text)) if doc is not None
        ]
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
        return [_plain(doc) for doc in YAML().load_all(parsable(text))]
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


_DELETED = object()  # an _Expected value: the key is gone


def _set_plain(data: Any, path: Sequence[KeyPart], value: object) -> None:
    for part in path[:-1]:
        data = data[int(part) if isinstance(data, list) else part]
    last = path[-1]
    if isinstance(data, list):
        index = int(last)
        if index == len(data):
            data.append(value)
        else:
            data[index] = value
    elif value is _DELETED:
        del data[last]
    else:
        data[last] = value


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


# Where each kind keeps its pod spec (a Rollout's own, or the workload its workloadRef names).
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "Rollout": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}


def _scalar_value(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def edit_images_in_bytes(
    data: bytes,
    repository: str,
    tag: str,
    source: str,
    *,
    digest: str | None = None,
    workloads: Collection[tuple[str, str]] = (),
    rollouts: bool = True,
) -> tuple[bytes, int]:
    """Set the tag of every container running `repository`, and how many there are.

    Looks at `spec.template.spec.containers[*].image` of each Rollout document (with
    `rollouts`) and at the pod template's containers of each document whose (kind,
    metadata.name) is in `workloads` (the Deployment, ReplicaSet or PodTemplate a Rollout's
    `workloadRef` names). Names match as Docker resolves them (`normalize_image_name`); the
    new reference keeps the file's spelling of the repository: `repository:tag`, with
    `@digest` when `digest` is given. A digest the reference had is dropped otherwise: it
    would keep running the old image whatever the tag says.
    """
    matched = 0

    def plan(text: str, docs: list[Node]) -> list[tuple[_Splice, _Expected]]:
        nonlocal matched
        edits = []
        for index, doc in enumerate(docs):
            kind = _scalar_value(_get(doc, "kind"))
            name = _scalar_value(_get(doc, "metadata", "name"))
            if kind is None or kind not in POD_SPEC_PATHS:
                continue
            if not ((rollouts and kind == "Rollout") or (kind, name) in workloads):
                continue
            base = POD_SPEC_PATHS[kind]
            containers = _get(doc, *base, "containers")
            if not isinstance(containers, SequenceNode):
                continue
            for position, container in enumerate(containers.value):
                image_node = _get(container, "image")
                if not isinstance(image_node, ScalarNode):
                    continue
                ref = split_image(image_node.value)
                if not same_image(ref.repository, repository):
                    continue
                matched += 1
                new_ref = image_reference(ref.repository, tag, digest)
                if image_node.value == new_ref:
                    continue
                parts: tuple[KeyPart, ...] = (*base, "containers", position, "image")
                key_path = field_path(parts)
                key_node, node = _find(doc, parts, source, key_path, "")
                splice, held = _value_splice(text, key_node, node, new_ref, source, key_path)
                edits.append((splice, _Expected(index, parts, held)))
        return edits

    return _edit(data, source, plan), matched


def set_image_tag_in_bytes(
    data: bytes, repository: str, tag: str, source: str, *, digest: str | None = None
) -> bytes:
    """Set the tag of every `Rollout` container running `repository`; nothing else changes.

    See `edit_images_in_bytes` (Rollouts only). Raises `InvalidInput` when no container
    runs the image.
    """
    new, matched = edit_images_in_bytes(data, repository, tag, source, digest=digest)
    if not matched:
        raise InvalidInput.one(
            source,
            "spec.template.spec.containers",
            f"no Rollout container runs image {repository!r} (set its image to "
            f"{repository}:<tag>, or pass the image the file uses with --image)",
        )
    return new


def set_kustomize_image_in_bytes(
    data: bytes,
    name: str,
    tag: str,
    source: str,
    *,
    new_name: str | None = None,
    fallback_new_name: str | None = None,
    digest: str | None = None,
    add_name: str | None = None,
) -> bytes:
    """Set `newTag` (and `newName` when given) of the `images` entry named `name`.

    An entry matches when its `name` is `name`, or, if none does, when its `newName` is
    `fallback_new_name` (names compared as Docker resolves them). A missing
    `newTag`/`newName` key is added under the entry with the entry's own indentation.
    With `digest` the entry's `digest` is set (or added); without one a `digest` the entry
    has is removed, line and all: it would win over the new tag.

    With no matching entry one is added, as `kustomize edit set image` does: named
    `add_name` (default `name`; kustomize matches names exactly, so pass the image as the
    manifests spell it), appended to the `images` list in the list's own style, or under a
    new `images:` key at the end of the file.
    """

    def plan(text: str, docs: list[Node]) -> list[tuple[_Splice, _Expected]]:
        if len(docs) != 1 or not isinstance(docs[0], MappingNode):
            raise InvalidInput.one(source, "", "expected one Kustomization mapping")
        root = docs[0]
        images = _get(root, "images")
        if images is not None and not isinstance(images, SequenceNode):
            raise InvalidInput.one(
                source, "images", "expected a list of images (`- name: ...` items)"
            )
        entries = list(images.value) if images is not None else []
        chosen = _matching_entries(entries, "name", name) or (
            _matching_entries(entries, "newName", fallback_new_name) if fallback_new_name else []
        )
        wanted = {"newName": new_name} if new_name is not None else {}
        wanted["newTag"] = tag
        if digest is not None:
            wanted["digest"] = digest
        if not chosen:
            entry = {"name": add_name or name, **wanted}
            return [_add_entry(text, root, images, entry, source)]
        edits = []
        for position, node in chosen:
            for key, value in wanted.items():
                edits.extend(_set_or_add(text, root, node, position, key, value, source))
            if digest is None and _get(node, "digest") is not None:
                edits.append(_remove_key(text, root, node, position, "digest", source))
        return edits

    return _edit(data, source, plan)


def _matching_entries(
    entries: Sequence[Node], key: str, wanted: str | None
) -> list[tuple[int, Node]]:
    found = []
    for position, entry in enumerate(entries):
        node = _get(entry, key)
        if wanted is not None and isinstance(node, ScalarNode) and same_image(node.value, wanted):
            found.append((position, entry))
    return found


def _block_scalar(value: str) -> str:
    return value if plain_is_safe(value) else double_quoted(value)


def _flow_scalar(value: str) -> str:
    return value if plain_is_safe(value) and ":" not in value else double_quoted(value)


def _line_after(text: str, index: int) -> int:
    """The offset just past the line break ending the line that holds `index` (or the end)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    line_end = text.find("\n", index)
    return len(text) if line_end == -1 else line_end + 1


def _content_end(node: Node) -> int:
    """Where a node's own text ends (a block collection's end mark lies past blank lines)."""
    if isinstance(node, MappingNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1])
    return int(node.end_mark.index)


def _dash_column(text: str, item: Node) -> int:
    """The column of the `-` that starts a block sequence item."""
    dash = text.rindex("-", 0, item.start_mark.index)
    return dash - (text.rfind("\n", 0, dash) + 1)


def _add_entry(
    text: str, root: MappingNode, images: Node | None, entry: Mapping[str, str], source: str
) -> tuple[_Splice, _Expected]:
    newline = _newline(text)
    if isinstance(images, SequenceNode) and images.flow_style:
        close = text.rindex("]", images.start_mark.index, images.end_mark.index)
        separator = ", " if images.value else ""
        pairs = ", ".join(f"{k}: {_flow_scalar(v)}" for k, v in entry.items())
        splice = _Splice(close, close, f"{separator}{{{pairs}}}")
        return splice, _Expected(0, ("images", len(images.value)), dict(entry))
    if isinstance(images, SequenceNode):
        last = images.value[-1]
        column = _dash_column(text, images.value[0])
        at = _line_after(text, _content_end(last))
        lead = "" if at == 0 or text[at - 1] == "\n" else newline
        expected = _Expected(0, ("images", len(images.value)), dict(entry))
        return _Splice(at, at, lead + _block_entry(entry, column, newline)), expected
    if root.flow_style:
        raise InvalidInput.one(
            source, "", "a flow-style Kustomization ({...}): add the images entry by hand"
        )
    sequences = [
        value for _, value in root.value if isinstance(value, SequenceNode) and value.value
    ]
    block = [value for value in sequences if not value.flow_style]
    column = _dash_column(text, block[0].value[0]) if block else 0
    lead = newline if text and not text.endswith("\n") else ""
    body = f"images:{newline}{_block_entry(entry, column, newline)}"
    return _Splice(len(text), len(text), lead + body), _Expected(0, ("images",), [dict(entry)])


def _block_entry(entry: Mapping[str, str], column: int, newline: str) -> str:
    pad = " " * column
    lines = [
        f"{pad}{'- ' if i == 0 else '  '}{key}: {_block_scalar(value)}{newline}"
        for i, (key, value) in enumerate(entry.items())
    ]
    return "".join(lines)


def _remove_key(
    text: str, doc: Node, entry: Node, position: int, key: str, source: str
) -> tuple[_Splice, _Expected]:
    """Remove `key: value` from a mapping entry of `images`, leaving the rest as it is."""
    assert isinstance(entry, MappingNode)
    pairs = list(entry.value)
    at = next(i for i, (k, _) in enumerate(pairs) if isinstance(k, ScalarNode) and k.value == key)
    field = f"images[{position}].{key}"
    key_node, value_node = pairs[at]
    if value_node.anchor is not None or key_node.anchor is not None:
        raise InvalidInput.one(source, field, "value uses a YAML anchor or alias (edit it by hand)")
    expected = _Expected(0, ("images", position, key), _DELETED)
    start = key_node.start_mark.index
    if at == 0:
        if len(pairs) == 1:
            raise InvalidInput.one(source, field, "the entry has no name (add one)")
        return _Splice(start, pairs[1][0].start_mark.index, ""), expected
    if entry.flow_style:
        return _Splice(pairs[at - 1][1].end_mark.index, value_node.end_mark.index, ""), expected
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip(" "):
        raise InvalidInput.one(source, field, "not on a line of its own (remove it by hand)")
    return _Splice(line_start, _line_after(text, value_node.end_mark.index), ""), expected


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
    if not isinstance(entry, MappingNode):
        raise InvalidInput.one(source, f"images[{position}]", "expected a mapping (name, newTag)")
    if entry.flow_style:
        close = text.rindex("}", entry.start_mark.index, entry.end_mark.index)
        separator = ", " if entry.value else ""
        scalar = _flow_scalar(value)
        return [(_Splice(close, close, f"{separator}{key}: {scalar}"), _Expected(0, parts, value))]
    if not entry.value:
        raise InvalidInput.one(source, f"images[{position}]", "empty entry (add a name)")
    column = entry.value[0][0].start_mark.column
    newline = _newline(text)
    at = _line_after(text, _content_end(entry))
    lead = newline if at == len(text) and not text.endswith("\n") else ""
    line = f"{lead}{' ' * column}{key}: {_block_scalar(value)}{newline}"
    return [(_Splice(at, at, line), _Expected(0, parts, value))]


__all__ = [
    "POD_SPEC_PATHS",
    "ImageRef",
    "YamlValueError",
    "decode",
    "double_quoted",
    "edit_images_in_bytes",
    "encode",
    "image_reference",
    "load_all",
    "normalize_image_name",
    "parsable",
    "parse_key_path",
    "plain_is_safe",
    "same_image",
    "set_image_tag_in_bytes",
    "set_kustomize_image_in_bytes",
    "set_values_in_bytes",
    "split_image",
    "yaml_block",
    "yaml_key",
    "yaml_scalar",
]
