"""docs/argo-rollouts-notifications.yaml: the Argo Rollouts notification ConfigMap that sends
rollout events to GitHub as repository dispatches, filled with a real Rollout (an Argo Rollouts
example, tests/fixtures/argo/) and read back by `bot.core.events.parse_event`.

Argo notification templates are Go `text/template` with the sprig functions. `fill` below is a
small Go-template filler for exactly the constructs the ConfigMap uses (`{{.a.b}}`, `$var`,
pipelines, `if`/`with`/`range` with `else`, `toJson`, `default`, `index`, `trunc`), with Go's
semantics for them: a missing map key is "no value" (printed `<no value>`, nil to a function),
`range` over nothing runs no iteration, `trunc` cuts bytes (a cut UTF-8 sequence leaves invalid
bytes, kept here as `surrogateescape` characters), `toJson` escapes as Go 1.19's
`encoding/json` does (an invalid byte becomes U+FFFD). The expected bodies below were produced
by Go 1.19's text/template with sprig v3.2.3 (whose `trunc` and `toJson` are those of v3.3.0,
the version notifications-engine uses) from the same templates and Rollouts.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.core.errors import InvalidInput
from bot.core.events import (
    DISPATCH_EVENT_TYPE,
    MESSAGE_LIMIT,
    TRIGGERS,
    RolloutNotice,
    parse_event,
)
from bot.core.manifests import validate_manifest
from bot.core.untrusted import one_line, truncate

ROOT = Path(__file__).resolve().parents[2]
CONFIGMAP = ROOT / "docs" / "argo-rollouts-notifications.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "argo"
ROLLOUT = FIXTURES / "rollout-analysis-step.yaml"
CATALOG = FIXTURES / "notifications-install.yaml"
SERVICE = "github-dispatch"


def yaml_load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def configmap() -> dict[str, Any]:
    data = yaml_load(CONFIGMAP.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@functools.cache
def _parsed_template(trigger: str) -> dict[str, Any]:
    data = yaml_load(configmap()["data"][f"template.{template_name(trigger)}"])
    assert isinstance(data, dict)
    return data


def template_name(trigger: str) -> str:
    return f"model-bot-dispatch-{trigger}"


def template(trigger: str) -> dict[str, Any]:
    return copy.deepcopy(_parsed_template(trigger))


def body_template(trigger: str) -> str:
    body = template(trigger)["webhook"][SERVICE]["body"]
    assert isinstance(body, str)
    return body


def live_rollout() -> dict[str, Any]:
    """The example Rollout as the controller hands it to the notification templates: with
    the namespace the API server sets and the revision annotation the controller sets, and
    (like the controller's JSON round trip) plain JSON values only."""
    rollout = yaml_load(ROLLOUT.read_text(encoding="utf-8"))
    rollout["metadata"]["namespace"] = "fraud"
    rollout["metadata"]["annotations"] = {"rollout.argoproj.io/revision": "2"}
    loaded = json.loads(json.dumps(rollout))
    assert isinstance(loaded, dict)
    return loaded


# --- a Go text/template filler, for the constructs the ConfigMap uses ---------------------------


class _Missing:
    """Go's invalid reflect.Value: what a missing map key gives."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def go_json(value: object) -> str:
    """Go's `json.Marshal` (as sprig's toJson calls it): HTML characters and U+2028/U+2029
    escaped, control characters as \\u00XX except \\n, \\r, \\t."""
    if value is MISSING or value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        out = ['"']
        for char in value:
            if "\udc80" <= char <= "\udcff":  # an invalid byte (see `_trunc`)
                out.append("\\ufffd")
            elif char in '"\\':
                out.append("\\" + char)
            elif char in "\n\r\t":
                out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
            elif ord(char) < 0x20 or char in "<>&\u2028\u2029":
                out.append(f"\\u{ord(char):04x}")
            else:
                out.append(char)
        return "".join(out) + '"'
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{go_json(k)}:{go_json(v)}" for k, v in items) + "}"
    raise TypeError(f"toJson of {type(value).__name__}")


def go_truth(value: object) -> bool:
    """Go template truth: false, 0, nil, "" and empty collections are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool | int | float | str | list | dict):
        return bool(value)
    raise TypeError(f"truth of {type(value).__name__}")


def go_print(value: object) -> str:
    if value is MISSING or value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise TypeError(f"printing {type(value).__name__} is not supported")


def _default(default: object, given: object = MISSING) -> object:
    """sprig's `default DEFAULT VALUE`: VALUE unless it is empty."""
    return given if go_truth(given) else default


def _index(collection: object, *keys: object) -> object:
    for key in keys:
        if collection is MISSING or collection is None:
            raise ValueError("index of untyped nil")
        if isinstance(collection, dict):
            collection = collection.get(key)  # Go: the map's zero value, nil
        elif isinstance(collection, list) and isinstance(key, int):
            collection = collection[key]
        else:
            raise TypeError(f"cannot index {type(collection).__name__}")
    return collection


def _trunc(count: int, text: str) -> str:
    """sprig's `trunc COUNT TEXT`: the first COUNT bytes (Go strings are bytes)."""
    data = text.encode("utf-8", "surrogateescape")
    return data[:count].decode("utf-8", "surrogateescape") if len(data) > count else text


FUNCTIONS: dict[str, Callable[..., object]] = {
    "toJson": go_json,
    "default": _default,
    "index": _index,
    "trunc": _trunc,
}

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)
_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<assign>:=)|(?P<punct>[|(),])'
    r"|(?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)|(?P<field>(?:\.[A-Za-z0-9_]+)+|\.)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>-?[0-9]+))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SyntaxError(f"unsupported template text {text[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclass
class _Node:
    kind: str  # text | action | if | with | range
    text: str = ""
    pipeline: list[tuple[str, str]] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)
    otherwise: list[_Node] = field(default_factory=list)


@functools.lru_cache(maxsize=64)
def parse_template(source: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[tuple[_Node | None, list[_Node]]] = [(None, root)]
    position = 0
    for match in _ACTION.finditer(source):
        if source[position : match.start()]:
            stack[-1][1].append(_Node("text", text=source[position : match.start()]))
        position = match.end()
        inner = match.group(1)
        if inner.startswith("-") or inner.endswith("-") or inner.strip().startswith("/*"):
            raise SyntaxError("trim markers and comments are not supported")
        tokens = _tokens(inner)
        head = tokens[0] if tokens else ("", "")
        if head == ("ident", "end"):
            stack.pop()
        elif head == ("ident", "else"):
            node = stack[-1][0]
            assert node is not None and len(tokens) == 1, "only a plain else is supported"
            stack[-1] = (node, node.otherwise)
        elif head[0] == "ident" and head[1] in ("if", "with", "range"):
            rest = tokens[1:]
            variables: list[str] = []
            if ("assign", ":=") in rest:
                at = rest.index(("assign", ":="))
                variables = [value for kind, value in rest[:at] if kind == "var"]
                rest = rest[at + 1 :]
            node = _Node(head[1], pipeline=rest, variables=variables)
            stack[-1][1].append(node)
            stack.append((node, node.body))
        else:
            stack[-1][1].append(_Node("action", pipeline=tokens))
    assert len(stack) == 1, "unclosed {{if}}, {{with}} or {{range}}"
    if source[position:]:
        root.append(_Node("text", text=source[position:]))
    return root


class _Scope:
    def __init__(self, dot: object, variables: dict[str, object]) -> None:
        self.dot = dot
        self.variables = variables

    def field(self, value: object, names: list[str]) -> object:
        for name in names:
            if value is MISSING or value is None:
                return MISSING
            if not isinstance(value, Mapping):
                raise TypeError(f"can't evaluate field {name} in {type(value).__name__}")
            value = value.get(name, MISSING)
        return value

    def operand(self, tokens: list[tuple[str, str]], at: int) -> tuple[object, int]:
        kind, text = tokens[at]
        if kind == "string":
            return json.loads(text), at + 1
        if kind == "number":
            return int(text), at + 1
        if kind == "field":
            return self.field(self.dot, [] if text == "." else text[1:].split(".")), at + 1
        if kind == "var":
            name, *names = text.split(".")
            return self.field(self.variables[name], names), at + 1
        if (kind, text) == ("punct", "("):
            depth, end = 1, at + 1
            while depth:
                depth += (
                    {"(": 1, ")": -1}.get(tokens[end][1], 0) if tokens[end][0] == "punct" else 0
                )
                end += 1
            return self.pipeline(tokens[at + 1 : end - 1]), end
        raise SyntaxError(f"unsupported operand {text!r}")

    def pipeline(self, tokens: list[tuple[str, str]]) -> object:
        commands: list[list[tuple[str, str]]] = [[]]
        depth = 0
        for token in tokens:
            if token == ("punct", "|") and depth == 0:
                commands.append([])
                continue
            depth += {"(": 1, ")": -1}.get(token[1], 0) if token[0] == "punct" else 0
            commands[-1].append(token)
        result: object = MISSING
        for number, command in enumerate(commands):
            kind, text = command[0]
            arguments: list[object] = []
            at = 1 if kind == "ident" else 0
            while at < len(command):
                value, at = self.operand(command, at)
                arguments.append(value)
            if number:
                arguments.append(result)  # a pipeline passes its value as the last argument
            if kind == "ident":
                result = FUNCTIONS[text](*arguments)
            else:
                assert len(arguments) == 1, f"{text} takes no arguments"
                result = arguments[0]
        return result


def _run(nodes: list[_Node], scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            out.append(go_print(scope.pipeline(node.pipeline)))
        elif node.kind == "if":
            _run(
                node.body if go_truth(scope.pipeline(node.pipeline)) else node.otherwise, scope, out
            )
        elif node.kind == "with":
            value = scope.pipeline(node.pipeline)
            if go_truth(value):
                _run(node.body, _Scope(value, scope.variables), out)
            else:
                _run(node.otherwise, scope, out)
        elif node.kind == "range":
            value = scope.pipeline(node.pipeline)
            if isinstance(value, dict):
                items = sorted(value.items())
            elif isinstance(value, list):
                items = list(enumerate(value))
            elif value is MISSING or value is None:
                items = []
            else:
                raise TypeError(f"range can't iterate over {value!r}")
            for key, item in items:
                variables = dict(scope.variables)
                if len(node.variables) == 2:
                    variables[node.variables[0]], variables[node.variables[1]] = key, item
                elif len(node.variables) == 1:
                    variables[node.variables[0]] = item
                _run(node.body, _Scope(item, variables), out)
            if not items:
                _run(node.otherwise, scope, out)


def fill(source: str, data: dict[str, Any]) -> str:
    """`source` executed as a Go text/template with `data` as dot (see the module's doc)."""
    out: list[str] = []
    _run(parse_template(source), _Scope(data, {"$": data}), out)
    return "".join(out)


def sent_message(message: str) -> str:
    """The message as the body carries it: its first 2000 bytes, a cut character's bytes
    each U+FFFD."""
    cut = message.encode("utf-8")[:2000]
    return "".join(
        "\ufffd" if "\udc80" <= c <= "\udcff" else c for c in cut.decode("utf-8", "surrogateescape")
    )


def fill_body(trigger: str, rollout: dict[str, Any]) -> str:
    """The request body the controller sends for `trigger` about `rollout`."""
    return fill(body_template(trigger), {"rollout": rollout, "secrets": {"github-token": "S"}})


def received(body: str) -> object:
    """What `model-bot event` makes of the repository_dispatch event GitHub creates from the
    request body: GitHub puts the dispatch's event_type in the event's `action`."""
    request = json.loads(body)
    assert set(request) == {"event_type", "client_payload"}
    event = {
        "action": request["event_type"],
        "branch": "main",
        "client_payload": request["client_payload"],
    }
    return parse_event("repository_dispatch", event)


# --- the filler itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{.a.b}}", "1"),
        ("{{.a.missing}}", "<no value>"),
        ("{{.missing.deeper}}", "<no value>"),
        ("{{toJson .missing}}", "null"),
        ('{{.missing | default "d" | toJson}}', '"d"'),
        ('{{.a.empty | default "d"}}', "d"),
        ('{{index .a "x.y/z"}}|{{index .a "nope"}}', "2|<no value>"),
        ("{{range $i, $c := .list}}{{if $i}},{{end}}{{$c.n}}{{end}}", "p,q"),
        ("{{range .list}}{{.n}}{{end}}", "pq"),
        ("[{{range $i, $c := .missing}}x{{end}}]", "[]"),
        ("{{range .none}}x{{else}}empty{{end}}", "empty"),
        ("{{with .a}}{{.b}}{{else}}none{{end}}{{with .zero}}x{{else}}none{{end}}", "1none"),
        ('{{toJson (index .a "x.y/z")}}', "2"),
        ('{{"abcdef" | trunc 3}}|{{"ab" | trunc 3}}', "abc|ab"),
        ('{{"aé" | trunc 2 | toJson}}', '"a\\ufffd"'),  # half of é: an invalid byte
        ('{{"a😀" | trunc 3 | toJson}}', '"a\\ufffd\\ufffd"'),  # one U+FFFD a byte
        (
            '{{toJson "<a> & \\"b\\"\\n\\u2028\\u0001"}}',
            '"\\u003ca\\u003e \\u0026 \\"b\\"\\n\\u2028\\u0001"',
        ),
    ],
)
def test_the_filler_follows_go(source: str, expected: str) -> None:
    data = {
        "a": {"b": 1, "x.y/z": 2, "empty": ""},
        "list": [{"n": "p"}, {"n": "q"}],
        "none": [],
        "zero": 0,
    }
    assert fill(source, data) == expected


def test_the_filler_refuses_what_it_does_not_know() -> None:
    with pytest.raises(SyntaxError):
        fill("{{- .a}}", {})
    with pytest.raises(KeyError):
        fill("{{upper .a}}", {"a": "x"})
    with pytest.raises(ValueError, match="index of untyped nil"):
        fill('{{index .missing "k"}}', {})


# --- the ConfigMap --------------------------------------------------------------------------


def test_the_configmap_has_what_argo_rollouts_reads() -> None:
    document = configmap()
    assert document["apiVersion"] == "v1" and document["kind"] == "ConfigMap"
    assert document["metadata"] == {"name": "argo-rollouts-notification-configmap"}
    data = document["data"]
    assert all(isinstance(value, str) for value in data.values())
    assert set(data) == {
        f"service.webhook.{SERVICE}",
        *(f"template.{template_name(t)}" for t in TRIGGERS),
        *(f"trigger.{t}" for t in TRIGGERS),
    }
    for key, value in data.items():
        assert re.fullmatch(r"(service\.webhook|template|trigger)\.[a-z0-9-]+", key)
        assert yaml_load(value) is not None  # each value is YAML, as the engine reads it


def test_the_webhook_service_posts_to_the_dispatches_endpoint() -> None:
    service = yaml_load(configmap()["data"][f"service.webhook.{SERVICE}"])
    assert set(service) == {"url", "headers"}
    assert service["url"] == "https://api.github.com/repos/OWNER/ENV-REPO/dispatches"
    headers = {h["name"]: h["value"] for h in service["headers"]}
    assert headers == {
        "Authorization": "Bearer $github-token",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "Content-Type": "application/json",
    }
    # the engine replaces `$key` ([$][\w-]+) with the key of argo-rollouts-notification-secret
    text = configmap()["data"][f"service.webhook.{SERVICE}"]
    assert re.findall(r"[$][\w-]+", text) == ["$github-token"]


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_each_trigger_sends_its_own_template(trigger: str) -> None:
    conditions = yaml_load(configmap()["data"][f"trigger.{trigger}"])
    assert conditions == [{"send": [template_name(trigger)]}]
    parsed = template(trigger)
    assert set(parsed) == {"message", "webhook"}
    assert set(parsed["webhook"]) == {SERVICE}
    assert set(parsed["webhook"][SERVICE]) == {"method", "body"}  # the url carries the path
    assert parsed["webhook"][SERVICE]["method"] == "POST"
    assert f'"trigger": "{trigger}",' in parsed["webhook"][SERVICE]["body"]


def test_the_triggers_are_the_catalogs_with_other_templates() -> None:
    """The catalog's triggers fire on the controller's events and have no `when`: ours keep
    every key of the catalog's condition but `send`."""
    catalog = yaml_load(CATALOG.read_text(encoding="utf-8"))["data"]
    for trigger in TRIGGERS:
        [theirs] = yaml_load(catalog[f"trigger.{trigger}"])
        [ours] = yaml_load(configmap()["data"][f"trigger.{trigger}"])
        assert {k: v for k, v in theirs.items() if k != "send"} == {
            k: v for k, v in ours.items() if k != "send"
        }


def test_the_templates_differ_only_in_the_trigger() -> None:
    bodies = {t: body_template(t).replace(f'"{t}"', '"TRIGGER"') for t in TRIGGERS}
    assert len(set(bodies.values())) == 1


def test_the_subscription_annotations_are_documented() -> None:
    text = CONFIGMAP.read_text(encoding="utf-8")
    for trigger in TRIGGERS:
        assert f'#       notifications.argoproj.io/subscribe.{trigger}.{SERVICE}: ""' in text


# --- the fixture --------------------------------------------------------------------------


def test_the_fixture_is_a_valid_aborted_rollout() -> None:
    text = ROLLOUT.read_text(encoding="utf-8")
    assert "https://github.com/argoproj/argo-rollouts/blob/" in text.splitlines()[1]
    assert "Apache-2.0" in text.splitlines()[0]
    assert (FIXTURES / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    rollout = live_rollout()
    assert validate_manifest(rollout) == []  # the status block too, against the CRD's schema
    assert rollout["status"]["abort"] is True and rollout["status"]["phase"] == "Degraded"


# --- filled with the Rollout, read back by parse_event ---------------------------------------

# Go 1.19 text/template + sprig v3.2.3, the fixture's Rollout and the aborted template:
GO_BODY = """\
{"event_type": "model-bot-rollout", "client_payload": {
  "trigger": "on-rollout-aborted",
  "rollout": "rollout-analysis-step",
  "namespace": "fraud",
  "revision": "2",
  "images": ["argoproj/rollouts-demo:blue"],
  "message": "RolloutAborted: Rollout aborted update to revision 2: Step-based analysis phase \
error/failed: Metric \\"random-fail\\" assessed Failed due to failed (2) \\u003e failureLimit (1)"
}}
"""


def test_the_filled_body_is_what_go_produces() -> None:
    assert fill_body("on-rollout-aborted", live_rollout()) == GO_BODY


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_the_notification_reaches_the_bot(trigger: str) -> None:
    rollout = live_rollout()
    body = fill_body(trigger, rollout)
    assert json.loads(body)["event_type"] == DISPATCH_EVENT_TYPE
    notice = received(body)
    assert notice == RolloutNotice(
        trigger=trigger,
        rollout="rollout-analysis-step",
        namespace="fraud",
        revision="2",
        images=("argoproj/rollouts-demo:blue",),
        message=rollout["status"]["message"],
    )
    assert isinstance(notice, RolloutNotice)
    assert notice.kind == ("completed" if trigger == "on-rollout-completed" else "aborted")


def test_every_container_image_is_sent() -> None:
    rollout = live_rollout()
    containers = rollout["spec"]["template"]["spec"]["containers"]
    containers.append({"name": "proxy", "image": "ghcr.io/acme/proxy:1.2@sha256:" + "b" * 64})
    containers.append({"name": "model", "image": "localhost:5000/fraud:7"})
    notice = received(fill_body("on-rollout-aborted", rollout))
    assert isinstance(notice, RolloutNotice)
    assert notice.images == tuple(c["image"] for c in containers)


def test_a_rollout_without_revision_or_message() -> None:
    rollout = live_rollout()
    del rollout["metadata"]["annotations"]
    del rollout["status"]["message"]
    notice = received(fill_body("on-rollout-completed", rollout))
    assert isinstance(notice, RolloutNotice)
    assert (notice.revision, notice.message) == ("", "")
    rollout["metadata"]["annotations"] = {"other": "x"}  # annotations, but no revision
    notice = received(fill_body("on-rollout-completed", rollout))
    assert isinstance(notice, RolloutNotice) and notice.revision == ""


HOSTILE_MESSAGES = [
    "he said \"stop\" and 'left'",
    "line one\nline two\r\n\ttabbed",
    'a backslash \\ and \\" an escaped quote',
    '"}}, "images": ["evil"], "x": {"',
    "</script><b>&amp;</b>",
    "$(rm -rf /) `reboot` ${{ secrets.GITHUB_TOKEN }}",
    "\x00\x01\x1b[31m\x7f controls",
    "\u2028\u2029 separators \u202e bidi",
    "é 😀 日本語",
    "{{.rollout.metadata.name}}",
    "x" * 100_000,
]


@pytest.mark.parametrize("message", HOSTILE_MESSAGES)
def test_any_message_keeps_the_body_valid_json(message: str) -> None:
    rollout = live_rollout()
    rollout["status"]["message"] = message
    body = fill_body("on-rollout-aborted", rollout)
    sent = json.loads(body)["client_payload"]["message"]
    assert sent == message[:2000]  # all ASCII from the 2000th byte on: cut between characters
    notice = received(body)
    assert isinstance(notice, RolloutNotice)
    assert notice.message == truncate(one_line(sent), MESSAGE_LIMIT)
    assert notice.images == ("argoproj/rollouts-demo:blue",)


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=300),
    st.text(max_size=40),
    st.text(max_size=20),
    st.lists(st.text(max_size=40), max_size=3),
)
def test_the_body_is_valid_json_for_any_rollout(
    message: str, name: str, revision: str, images: list[str]
) -> None:
    rollout = copy.deepcopy(LIVE)
    rollout["metadata"]["name"] = name
    rollout["metadata"]["annotations"]["rollout.argoproj.io/revision"] = revision
    rollout["spec"]["template"]["spec"]["containers"] = [{"image": image} for image in images]
    rollout["status"]["message"] = message
    for trigger in TRIGGERS:
        body = fill_body(trigger, rollout)
        payload = json.loads(body)["client_payload"]
        assert payload["rollout"] == name and payload["images"] == images
        assert payload["revision"] == revision
        assert payload["message"] == sent_message(message)
        try:
            notice = received(body)
        except InvalidInput as error:  # a name, revision or image the bot refuses, named
            fields = {"client_payload.rollout", "client_payload.revision", "client_payload.images"}
            assert all(p.field.split("[")[0] in fields for p in error.problems)
        else:
            assert isinstance(notice, RolloutNotice) and notice.rollout == name


LIVE = live_rollout()


def test_the_message_lines_for_other_services() -> None:
    for trigger, expected in zip(
        TRIGGERS,
        (
            "Rollout rollout-analysis-step has been aborted.",
            "Rollout rollout-analysis-step's analysis run failed.",
            "Rollout rollout-analysis-step has been completed.",
        ),
        strict=True,
    ):
        assert fill(template(trigger)["message"], {"rollout": LIVE}) == expected


def test_a_long_message_is_cut_to_2000_bytes() -> None:
    """Go's `trunc` cuts bytes: half a character is one invalid byte, sent as U+FFFD (Go 1.19
    and sprig v3.2.3 produced the same message for these Rollouts)."""
    rollout = live_rollout()
    for message, sent in (
        ("a" + "é" * 1500, "a" + "é" * 999 + "\ufffd"),
        ("ab" + "😀" * 600, "ab" + "😀" * 499 + "\ufffd\ufffd"),
        ("x" * 5000, "x" * 2000),
    ):
        rollout["status"]["message"] = message
        body = fill_body("on-analysis-run-failed", rollout)
        assert json.loads(body)["client_payload"]["message"] == sent
        notice = received(body)
        assert isinstance(notice, RolloutNotice) and len(notice.message) == MESSAGE_LIMIT
