"""bot.core.yamledit: safe scalars and blocks, and byte-preserving edits of files people wrote."""

from __future__ import annotations

import difflib
import math

import pytest
import yaml as pyyaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.core.errors import InvalidInput
from bot.core.yamledit import (
    ImageRef,
    double_quoted,
    edit_images_in_bytes,
    load_all,
    normalize_image_name,
    parse_key_path,
    plain_is_safe,
    set_image_tag_in_bytes,
    set_kustomize_image_in_bytes,
    set_values_in_bytes,
    split_image,
    yaml_block,
    yaml_scalar,
)


def load12(text: str) -> object:
    """YAML 1.2 (ruamel, as the bot reads)."""
    return YAML(typ="safe", pure=True).load(text)


def load11(text: str) -> object:
    """YAML 1.1 (PyYAML, close to what Helm and kubectl's go-yaml read)."""
    return pyyaml.safe_load(text)


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a line diff; fails on anything but 1:1 replacements."""
    old = before.decode("utf-8-sig").splitlines(keepends=True)
    new = after.decode("utf-8-sig").splitlines(keepends=True)
    pairs = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        assert op == "replace" and a2 - a1 == b2 - b1, (op, old[a1:a2], new[b1:b2])
        pairs.extend(zip(old[a1:a2], new[b1:b2], strict=True))
    return pairs


# --- emitting -------------------------------------------------------------------------------

text_without_surrogates = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(text_without_surrogates)
@settings(max_examples=300)
def test_double_quoted_reads_back_exactly_in_yaml_1_1_and_1_2(text: str) -> None:
    scalar = double_quoted(text)
    assert "\n" not in scalar and "\r" not in scalar
    assert load12(f"key: {scalar}\n") == {"key": text}
    assert load11(f"key: {scalar}\n") == {"key": text}


@pytest.mark.parametrize(
    "text",
    [
        "a: b",
        "line\nbreak",
        "# comment",
        "{{ model }}",
        "quote\"and'apostrophe",
        "back\\slash",
        "ünïcødé 😀",
        "../../etc",
        "\u2028\u2029\x85\ufeff",
        "",
        "- item",
        "&anchor *alias !tag",
    ],
)
def test_double_quoted_table(text: str) -> None:
    assert load12(f"k: {double_quoted(text)}") == {"k": text}


def test_double_quoted_refuses_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        double_quoted("a\ud800b")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (7, "7"),
        (0.01, "0.01"),
        (1e-05, "1.0e-05"),
        (1e20, "1.0e+20"),
        ("7", '"7"'),
        ("yes", '"yes"'),
    ],
)
def test_yaml_scalar_types(value: object, text: str) -> None:
    assert yaml_scalar(value) == text
    assert load12(f"k: {text}") == {"k": value}
    assert load11(f"k: {text}") == {"k": value}


def test_yaml_scalar_special_floats() -> None:
    assert yaml_scalar(math.inf) == ".inf"
    assert yaml_scalar(-math.inf) == "-.inf"
    assert math.isnan(load12(f"k: {yaml_scalar(math.nan)}")["k"])  # type: ignore[index]


def test_yaml_scalar_refuses_other_types() -> None:
    with pytest.raises(ValueError, match="cannot write a bytes"):
        yaml_scalar(b"x")


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("v7", True),
        ("7-3f2a1c9", True),
        ("ghcr.io/acme/fraud", True),
        ("app.kubernetes.io/name", True),
        ("localhost:5000/acme/app:7", True),
        ("a:", False),
        ("8", False),
        ("8.10", False),
        ("1e3", False),
        ("007", False),
        ("yes", False),
        ("on", False),
        ("y", False),
        ("null", False),
        ("~", False),
        ("", False),
        ("1:20", False),
        ("2024-01-01", False),
        ("a: b", False),
        ("a#b", False),
        ("-x", False),
        (".inf", False),
        ("0x1F", False),
    ],
)
def test_plain_is_safe(text: str, safe: bool) -> None:
    assert plain_is_safe(text) is safe


@given(st.text(alphabet="ab7_./@+:-#: x", max_size=12))
@settings(max_examples=400)
def test_plain_is_safe_means_reads_back_as_that_string(text: str) -> None:
    if not plain_is_safe(text):
        return
    for document in (f"k: {text}\n", f"{{k: {text}}}\n", f"- [{text}, b]\n"):
        for load in (load12, load11):
            data = load(document)
            value = data[0][0] if isinstance(data, list) else data["k"]  # type: ignore[index]
            assert value == text, (document, load)


plain_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False)
    | text_without_surrogates,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(text_without_surrogates, children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(text_without_surrogates, plain_data, max_size=5))
@settings(max_examples=200)
def test_yaml_block_reads_back_exactly(data: dict[str, object]) -> None:
    text = yaml_block(data) + "\n"
    assert load12(text) == data
    assert load11(text) == data


def test_yaml_block_layout() -> None:
    data = {"image": {"tag": "7"}, "list": [1, {"a": "b", "c": []}], "empty": {}, "8080": None}
    assert yaml_block(data) == (
        'image:\n  tag: "7"\nlist:\n  - 1\n  - a: "b"\n    c: []\nempty: {}\n"8080": null'
    )


def test_yaml_block_under_a_key_the_template_wrote() -> None:
    text = "spec:\n  resources:\n    " + yaml_block({"limits": {"cpu": "2"}, "x": [1]}, 4) + "\n"
    assert text == 'spec:\n  resources:\n    limits:\n      cpu: "2"\n    x:\n      - 1\n'
    assert load12(text) == {"spec": {"resources": {"limits": {"cpu": "2"}, "x": [1]}}}


# --- key paths and images -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("image.tag", ("image", "tag")),
        ("spec.containers[0].image", ("spec", "containers", 0, "image")),
        ("a.0.b", ("a", "0", "b")),
        ("m[1][2]", ("m", 1, 2)),
    ],
)
def test_parse_key_path(path: str, parts: tuple[object, ...]) -> None:
    assert parse_key_path(path) == parts


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", "a b", "a[x]"])
def test_parse_key_path_refuses(path: str) -> None:
    with pytest.raises(ValueError, match="key path"):
        parse_key_path(path)


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        ("nginx", ImageRef("nginx", None, None)),
        ("nginx:1.25", ImageRef("nginx", "1.25", None)),
        ("localhost:5000/acme/app", ImageRef("localhost:5000/acme/app", None, None)),
        ("localhost:5000/acme/app:7", ImageRef("localhost:5000/acme/app", "7", None)),
        ("ghcr.io/a/b:7@sha256:abc", ImageRef("ghcr.io/a/b", "7", "sha256:abc")),
        ("ghcr.io/a/b@sha256:abc", ImageRef("ghcr.io/a/b", None, "sha256:abc")),
    ],
)
def test_split_image(ref: str, parts: ImageRef) -> None:
    assert split_image(ref) == parts


# --- values files people wrote --------------------------------------------------------------

HAND_VALUES = b"""\
# Helm values for fraud-detector in prod. Reviewed by the ML platform team.

replicaCount: 3   # three is enough for prod

image:
    repository: ghcr.io/acme/fraud-detector
    # the bot bumps this:
    tag: "6-1a2b3c4"     # keep the quotes
    pullPolicy: IfNotPresent

model:
    name: 'fraud-detector'
    version: 6    # an integer, as the chart expects

resources:
    limits: {cpu: "1", memory: 2Gi}
"""


def test_values_edit_changes_one_line_per_key_and_keeps_the_rest() -> None:
    after = set_values_in_bytes(
        HAND_VALUES, {"image.tag": "7-3f2a1c9", "model.version": "7"}, "values.yaml"
    )
    assert changed_lines(HAND_VALUES, after) == [
        (
            '    tag: "6-1a2b3c4"     # keep the quotes\n',
            '    tag: "7-3f2a1c9"     # keep the quotes\n',
        ),
        (
            "    version: 6    # an integer, as the chart expects\n",
            "    version: 7    # an integer, as the chart expects\n",
        ),
    ]
    data = load12(after.decode())
    assert data["image"]["tag"] == "7-3f2a1c9"  # type: ignore[index]
    assert data["model"]["version"] == 7  # type: ignore[index]


def test_values_edit_is_a_no_op_when_values_are_current() -> None:
    same = set_values_in_bytes(HAND_VALUES, {"image.tag": "6-1a2b3c4", "model.version": "6"}, "v")
    assert same == HAND_VALUES


@pytest.mark.parametrize(
    ("line", "value", "expected"),
    [
        ("tag: v6", "v7", "tag: v7"),  # plain string stays plain
        ("tag: v6", "7", 'tag: "7"'),  # ...unless it would read as a number
        ("tag: v6", "7.10", 'tag: "7.10"'),
        ("tag: v6", "yes", 'tag: "yes"'),
        ("tag: 6", "7", "tag: 7"),  # a plain integer stays an integer
        ("tag: 6", "7-abc", "tag: 7-abc"),
        ("tag: 6", "7.1", 'tag: "7.1"'),
        ("tag: '6'", "7", "tag: '7'"),  # single quotes stay
        ("tag: 'v6'", "it's", "tag: 'it''s'"),
        ('tag: "6"', "7", 'tag: "7"'),  # double quotes stay
        ("tag:", "7", 'tag: "7"'),  # empty value gets one
        ("tag: ~", "v7", "tag: v7"),
        ("tag: null", "7", 'tag: "7"'),
        ("tag: 'v6'", "a\nb", 'tag: "a\\nb"'),
    ],
)
def test_values_edit_quoting(line: str, value: str, expected: str) -> None:
    before = f"image:\n  {line}  # note\n  other: x\n".encode()
    after = set_values_in_bytes(before, {"image.tag": value}, "values.yaml")
    assert after == f"image:\n  {expected}  # note\n  other: x\n".encode()
    tag = load12(after.decode())["image"]["tag"]  # type: ignore[index]
    assert str(tag) == value


def test_values_edit_keeps_crlf_and_bom() -> None:
    before = b"\xef\xbb\xbfimage:\r\n  tag: v6\r\n  repo: x\r\n"
    after = set_values_in_bytes(before, {"image.tag": "v7"}, "values.yaml")
    assert after == b"\xef\xbb\xbfimage:\r\n  tag: v7\r\n  repo: x\r\n"


def test_values_edit_in_flow_mapping_and_sequence() -> None:
    before = b"image: {repository: x, tag: v6}\nlist:\n- name: a\n  tag: v1\n"
    after = set_values_in_bytes(before, {"image.tag": "7", "list[0].tag": "v2"}, "v")
    assert after == b'image: {repository: x, tag: "7"}\nlist:\n- name: a\n  tag: v2\n'


def test_values_edit_replaces_a_block_scalar() -> None:
    before = b"a:\n  tag: |\n    v6\n  b: 1\n"
    after = set_values_in_bytes(before, {"a.tag": "v7"}, "v")
    assert after == b'a:\n  tag: "v7"\n  b: 1\n'


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        (b"image:\n  repository: x\n", "image.tag", "values.yaml: image.tag: key not found"),
        (b"model: {}\n", "image.tag", "image.tag: no key image"),
        (b"image: x\n", "image.tag", "cannot go into a scalar"),
        (b"image:\n  tag:\n    a: 1\n", "image.tag", "is a mapping, expected a single value"),
        (b"base: &b v1\nimage:\n  tag: *b\n", "image.tag", "anchor or alias"),
        (b"image:\n  tag: &t v1\n", "image.tag", "anchor or alias"),
        (b"image:\n  tag: !!str 6\n", "image.tag", "tag or anchor"),
        (b"image:\n  tag: a\n  tag: b\n", "image.tag", "duplicate key"),
        (b"a: 1\n---\nb: 2\n", "a", "expected one YAML document, found 2"),
        (b"a: [1\n", "a", "invalid YAML"),
        (b"a: \xff\n", "a", "not UTF-8"),
        (b"list: [a]\n", "list[3]", "no such item"),
    ],
)
def test_values_edit_refuses(data: bytes, path: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        set_values_in_bytes(data, {path: "v7"}, "values.yaml")


def test_missing_key_message_says_how_to_fix() -> None:
    with pytest.raises(InvalidInput) as caught:
        set_values_in_bytes(b"image:\n  repo: x\n", {"image.tag": "7"}, "env/values.yaml")
    assert str(caught.value) == (
        "env/values.yaml: image.tag: key not found (add the key to the file, or set "
        "value_keys in .model-bot.yaml to the key it uses)"
    )


@given(st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}\Z").filter(lambda t: ".." not in t))
@settings(max_examples=200)
def test_any_valid_tag_edits_exactly_one_line(tag: str) -> None:
    after = set_values_in_bytes(HAND_VALUES, {"image.tag": tag}, "values.yaml")
    pairs = changed_lines(HAND_VALUES, after)
    assert len(pairs) <= 1
    assert load12(after.decode())["image"]["tag"] == tag  # type: ignore[index]
    assert load11(after.decode())["image"]["tag"] == tag  # type: ignore[index]


# --- Rollouts people wrote ------------------------------------------------------------------

HAND_ROLLOUT = b"""\
# Written by hand; the bot only bumps the model image tag.
apiVersion: v1
kind: Service
metadata:
  name: fraud-detector
spec:
  selector: {app: fraud-detector}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 4
  template:
    spec:
      containers:
      - name: envoy   # sidecar, not ours
        image: envoyproxy/envoy:v1.30.1
      - name: model
        image: "registry.local:5000/acme/fraud-detector:6"    # model server
        args: ["--port", "8080"]
"""


def test_rollout_edit_changes_only_the_model_image_tag() -> None:
    after = set_image_tag_in_bytes(
        HAND_ROLLOUT, "registry.local:5000/acme/fraud-detector", "7-3f2a1c9", "rollout.yaml"
    )
    assert changed_lines(HAND_ROLLOUT, after) == [
        (
            '        image: "registry.local:5000/acme/fraud-detector:6"    # model server\n',
            '        image: "registry.local:5000/acme/fraud-detector:7-3f2a1c9"    # model server\n',
        )
    ]
    again = set_image_tag_in_bytes(
        after, "registry.local:5000/acme/fraud-detector", "7-3f2a1c9", "rollout.yaml"
    )
    assert again == after


def test_rollout_edit_plain_image() -> None:
    before = b"kind: Rollout\nspec:\n  template:\n    spec:\n      containers:\n        - image: acme/m\n          name: m\n"
    after = set_image_tag_in_bytes(before, "acme/m", "8", "r")
    assert b"        - image: acme/m:8\n" in after


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HAND_ROLLOUT.replace(b"fraud-detector:6", b"other:6"), "no Rollout container runs"),
        (HAND_ROLLOUT.replace(b"kind: Rollout", b"kind: Deployment"), "no Rollout container"),
    ],
)
def test_rollout_edit_refuses(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        set_image_tag_in_bytes(data, "registry.local:5000/acme/fraud-detector", "7", "r.yaml")


# --- kustomizations -------------------------------------------------------------------------

KUSTOMIZATION = b"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
    - rollout.yaml   # the Rollout
images:
    - name: ghcr.io/acme/fraud-detector
      newTag: v6 # bumped by model-bot
    - name: envoy
      newTag: v1.30.1
"""


def test_kustomize_edit_changes_new_tag_only() -> None:
    after = set_kustomize_image_in_bytes(KUSTOMIZATION, "ghcr.io/acme/fraud-detector", "7", "k")
    assert changed_lines(KUSTOMIZATION, after) == [
        ("      newTag: v6 # bumped by model-bot\n", '      newTag: "7" # bumped by model-bot\n')
    ]


def test_kustomize_edit_adds_missing_keys_with_the_entry_indentation() -> None:
    before = b"images:\n    -   name: app   # ours\n        digestless: true\nresources: []\n"
    after = set_kustomize_image_in_bytes(before, "app", "v7", "k", new_name="ghcr.io/a/app")
    assert after == (
        b"images:\n    -   name: app   # ours\n        digestless: true\n"
        b"        newName: ghcr.io/a/app\n        newTag: v7\nresources: []\n"
    )


def test_kustomize_edit_adds_to_last_line_without_newline() -> None:
    after = set_kustomize_image_in_bytes(b"images:\n- name: app", "app", "v7", "k")
    assert after == b"images:\n- name: app\n  newTag: v7\n"


def test_kustomize_edit_flow_entry_and_fallback_new_name() -> None:
    before = b"images: [{name: placeholder, newName: ghcr.io/a/app}]\n"
    after = set_kustomize_image_in_bytes(
        before, "ghcr.io/a/app", "8", "k", fallback_new_name="ghcr.io/a/app"
    )
    assert after == b'images: [{name: placeholder, newName: ghcr.io/a/app, newTag: "8"}]\n'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"images:\n- name: app\n  newTag: &t v1\n", "anchor"),
        (b"images: {app: v1}\n", "images: expected a list"),
        (b"images:\n", "images: expected a list"),
        (b"- a\n", "expected one Kustomization mapping"),
    ],
)
def test_kustomize_edit_refuses(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        set_kustomize_image_in_bytes(data, "app", "v7", "kustomization.yaml")


# --- layouts real repositories use ------------------------------------------------------------

OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def diff_lines(before: bytes, after: bytes) -> list[str]:
    """The changed lines of a line diff, `-old` and `+new` (inserts and deletes too)."""
    old = before.decode("utf-8-sig").splitlines(keepends=True)
    new = after.decode("utf-8-sig").splitlines(keepends=True)
    out = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            out += [f"-{line}" for line in old[a1:a2]] + [f"+{line}" for line in new[b1:b2]]
    return out


def rollout_with(image: str) -> bytes:
    return (
        "kind: Rollout\nspec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: model\n          image: {image}   # the model\n"
    ).encode()


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("library/nginx", "docker.io/library/nginx"),
        ("docker.io/nginx", "docker.io/library/nginx"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx"),
        ("argoproj/rollouts-demo", "docker.io/argoproj/rollouts-demo"),
        ("docker.io/argoproj/rollouts-demo", "docker.io/argoproj/rollouts-demo"),
        ("index.docker.io/argoproj/rollouts-demo", "docker.io/argoproj/rollouts-demo"),
        ("ghcr.io/acme/app", "ghcr.io/acme/app"),
        ("localhost/app", "localhost/app"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("registry.local:5000/acme/app", "registry.local:5000/acme/app"),
    ],
)
def test_docker_hub_names_are_normalised(name: str, normal: str) -> None:
    assert normalize_image_name(name) == normal


@pytest.mark.parametrize(
    ("written", "asked", "expected"),
    [
        (
            "argoproj/rollouts-demo:blue",
            "docker.io/argoproj/rollouts-demo",
            "argoproj/rollouts-demo:v2",
        ),
        (
            "docker.io/argoproj/rollouts-demo:blue",
            "argoproj/rollouts-demo",
            "docker.io/argoproj/rollouts-demo:v2",
        ),
        (
            "index.docker.io/argoproj/rollouts-demo:blue",
            "argoproj/rollouts-demo",
            "index.docker.io/argoproj/rollouts-demo:v2",
        ),
        ("nginx:1.25", "library/nginx", "nginx:v2"),
        ("docker.io/library/nginx", "nginx", "docker.io/library/nginx:v2"),
    ],
)
def test_rollout_edit_matches_docker_hub_names_and_keeps_the_spelling(
    written: str, asked: str, expected: str
) -> None:
    before = rollout_with(written)
    after = set_image_tag_in_bytes(before, asked, "v2", "r")
    assert diff_lines(before, after) == [
        f"-          image: {written}   # the model\n",
        f"+          image: {expected}   # the model\n",
    ]


def test_rollout_edit_does_not_match_another_registry() -> None:
    with pytest.raises(InvalidInput, match="no Rollout container runs"):
        set_image_tag_in_bytes(
            rollout_with("ghcr.io/argoproj/rollouts-demo:1"), "argoproj/rollouts-demo", "2", "r"
        )


@pytest.mark.parametrize(
    ("written", "digest", "expected"),
    [
        (f"ghcr.io/a/m:6@{OLD}", None, "ghcr.io/a/m:7"),  # a stale digest would pin 6
        (f"ghcr.io/a/m@{OLD}", None, "ghcr.io/a/m:7"),
        (f"ghcr.io/a/m:6@{OLD}", NEW, f"ghcr.io/a/m:7@{NEW}"),
        (f"ghcr.io/a/m@{OLD}", NEW, f"ghcr.io/a/m:7@{NEW}"),
        ("ghcr.io/a/m:6", NEW, f"ghcr.io/a/m:7@{NEW}"),
    ],
)
def test_rollout_edit_of_digest_pinned_images(
    written: str, digest: str | None, expected: str
) -> None:
    before = rollout_with(written)
    after = set_image_tag_in_bytes(before, "ghcr.io/a/m", "7", "r", digest=digest)
    assert diff_lines(before, after) == [
        f"-          image: {written}   # the model\n",
        f"+          image: {expected}   # the model\n",
    ]
    assert set_image_tag_in_bytes(after, "ghcr.io/a/m", "7", "r", digest=digest) == after


WORKLOAD = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: other
spec:
  template:
    spec:
      containers:
        - name: m
          image: ghcr.io/a/m:6
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 0   # Argo Rollouts scales it
  template:
    spec:
      containers:
        - name: m
          image: ghcr.io/a/m:6
"""


def test_workload_edit_changes_only_the_referenced_deployment() -> None:
    after, matched = edit_images_in_bytes(
        WORKLOAD, "ghcr.io/a/m", "7", "r", workloads={("Deployment", "web")}
    )
    assert matched == 1
    assert after == WORKLOAD[: WORKLOAD.rindex(b"ghcr.io/a/m:6")] + b"ghcr.io/a/m:7\n"
    untouched, none = edit_images_in_bytes(WORKLOAD, "ghcr.io/a/m", "7", "r")
    assert (untouched, none) == (WORKLOAD, 0)  # Rollouts only: this one has no template


KUSTOMIZE_DIGEST = f"""\
images:
  - name: ghcr.io/a/m
    newTag: "6"   # bumped by model-bot
    digest: {OLD}   # pinned by CI
  - name: envoy
    newTag: v1
""".encode()


def test_kustomize_edit_drops_a_stale_digest() -> None:
    after = set_kustomize_image_in_bytes(KUSTOMIZE_DIGEST, "ghcr.io/a/m", "7", "k")
    assert diff_lines(KUSTOMIZE_DIGEST, after) == [
        '-    newTag: "6"   # bumped by model-bot\n',
        f"-    digest: {OLD}   # pinned by CI\n",
        '+    newTag: "7"   # bumped by model-bot\n',
    ]


def test_kustomize_edit_sets_the_new_digest() -> None:
    after = set_kustomize_image_in_bytes(KUSTOMIZE_DIGEST, "ghcr.io/a/m", "7", "k", digest=NEW)
    assert diff_lines(KUSTOMIZE_DIGEST, after) == [
        '-    newTag: "6"   # bumped by model-bot\n',
        f"-    digest: {OLD}   # pinned by CI\n",
        '+    newTag: "7"   # bumped by model-bot\n',
        f"+    digest: {NEW}   # pinned by CI\n",
    ]
    added = set_kustomize_image_in_bytes(
        b"images:\n- name: app\n  newTag: v1\n", "app", "v2", "k", digest=NEW
    )
    assert added == f"images:\n- name: app\n  newTag: v2\n  digest: {NEW}\n".encode()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            f"images:\n- digest: {OLD}\n  name: app\n  newTag: v1\n",
            "images:\n- name: app\n  newTag: v2\n",
        ),
        (
            f"images: [{{name: app, digest: {OLD}, newTag: v1}}]\n",
            "images: [{name: app, newTag: v2}]\n",
        ),
        (
            f"images: [{{digest: {OLD}, name: app}}]\n",
            "images: [{name: app, newTag: v2}]\n",
        ),
    ],
)
def test_kustomize_edit_drops_a_digest_wherever_it_is(before: str, after: str) -> None:
    assert set_kustomize_image_in_bytes(before.encode(), "app", "v2", "k") == after.encode()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # an images list without the entry: appended in the list's own style
            "resources:\n  - rollout.yaml\nimages:\n  - name: envoy   # sidecar\n    newTag: v1\n",
            "resources:\n  - rollout.yaml\nimages:\n  - name: envoy   # sidecar\n    newTag: v1\n"
            "  - name: ghcr.io/a/m\n    newTag: v7\n",
        ),
        (  # no images key: added at the end, indented like the file's other lists
            "# overlay\nresources:\n  - rollout.yaml\n",
            "# overlay\nresources:\n  - rollout.yaml\nimages:\n  - name: ghcr.io/a/m\n    newTag: v7\n",
        ),
        (
            "resources:\n- rollout.yaml",
            "resources:\n- rollout.yaml\nimages:\n- name: ghcr.io/a/m\n  newTag: v7\n",
        ),
        ("images: []\n", "images: [{name: ghcr.io/a/m, newTag: v7}]\n"),
        ("images: [{name: envoy}]\n", "images: [{name: envoy}, {name: ghcr.io/a/m, newTag: v7}]\n"),
        (
            "images:\n- name: envoy\n  newTag: v1\n\n# trailing comment\n",
            "images:\n- name: envoy\n  newTag: v1\n- name: ghcr.io/a/m\n  newTag: v7\n\n"
            "# trailing comment\n",
        ),
    ],
)
def test_kustomize_edit_adds_a_missing_entry(before: str, after: str) -> None:
    assert set_kustomize_image_in_bytes(before.encode(), "ghcr.io/a/m", "v7", "k") == after.encode()


def test_kustomize_edit_adds_an_entry_with_new_name_and_the_given_spelling() -> None:
    after = set_kustomize_image_in_bytes(
        b"resources: [a.yaml]\n", "m", "v7", "k", new_name="ghcr.io/a/m", add_name="docker.io/m"
    )
    assert (
        after
        == b"resources: [a.yaml]\nimages:\n- name: docker.io/m\n  newName: ghcr.io/a/m\n  newTag: v7\n"
    )


def test_kustomize_edit_matches_docker_hub_names() -> None:
    before = b"images:\n- name: argoproj/rollouts-demo\n  newTag: blue\n"
    after = set_kustomize_image_in_bytes(before, "docker.io/argoproj/rollouts-demo", "yellow", "k")
    assert after == b"images:\n- name: argoproj/rollouts-demo\n  newTag: yellow\n"


TABBED = b"""\
image:
  repository: ghcr.io/a/m\t# where CI pushes
  tag: v6\t\t# bumped by model-bot
  note: "tab\t# inside quotes"\t# kept
model:
  version: 6 \t# an integer
list: [a, b]\t
"""


def test_a_tab_before_a_comment_is_read_and_kept() -> None:
    assert load_all(TABBED, "values.yaml") == [
        {
            "image": {"repository": "ghcr.io/a/m", "tag": "v6", "note": "tab\t# inside quotes"},
            "model": {"version": 6},
            "list": ["a", "b"],
        }
    ]
    after = set_values_in_bytes(TABBED, {"image.tag": "v7", "model.version": "7"}, "values.yaml")
    assert diff_lines(TABBED, after) == [
        "-  tag: v6\t\t# bumped by model-bot\n",
        "+  tag: v7\t\t# bumped by model-bot\n",
        "-  version: 6 \t# an integer\n",
        "+  version: 7 \t# an integer\n",
    ]


def test_a_tab_inside_a_block_scalar_is_content() -> None:
    data = b"script: |\n  run\t# not a comment\ntag: v1\t# a comment\n"
    assert load_all(data, "v.yaml") == [{"script": "run\t# not a comment\n", "tag": "v1"}]
    after = set_values_in_bytes(data, {"tag": "v2"}, "v.yaml")
    assert after == data.replace(b"v1", b"v2")
