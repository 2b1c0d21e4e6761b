"""Hostile input through the CLI entry point (`bot.cli.main`, as the console script runs it).

Model names, versions, tags, metric names, policy expressions, gate results of random shape,
and comment bodies full of YAML, template and shell syntax, path tricks, control characters,
unicode and sheer length. Whatever arrives, the CLI never shows a traceback or an internal
error: it exits with a code from the command's set, and either refuses with one line naming
the field (exit 2) or gives a correct result: every YAML it renders parses with a YAML 1.2
and a 1.1 parser, holds the names exactly as given, and the Rollout and AnalysisTemplate
validate against the Argo Rollouts CRD schemas.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml as pyyaml  # YAML 1.1
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML  # YAML 1.2

from bot.core.manifests import validate_manifest
from bot.core.trailers import parse_trailers
from tests.cli.test_gate import Result, run
from tests.gitrepos import git, make_bare_repo, seed_env_repo

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = ROOT / "policies" / "default.yaml"
EXAMPLES = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),  # more to hunt, locally
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

HOSTILE = [
    ": ",
    "a: b",
    "\n",
    "x\ny: z",
    "\r\n",
    "#",
    " # c",
    "{{ model }}",
    "{{ 7*7 }}",
    "{% for x in y %}",
    "{#",
    "'",
    '"',
    "\\",
    "`id`",
    "$(id)",
    "${{ secrets.GITHUB_TOKEN }}",
    "../",
    "..",
    "/",
    "./x",
    "-",
    "- item",
    "? key",
    "&a",
    "*a",
    "!!python/object/apply:os.system",
    "%YAML 1.1",
    "---",
    "...",
    "|",
    ">",
    "@",
    "~",
    "null",
    "yes",
    "on",
    "0x1F",
    "1e3",
    ".inf",
    "0o17",
    "ü",
    "😀",
    "\u202e",
    "\ufeff",
    "\u2028",
    "\x00",
    "\t",
    "\x7f",
    "<b>",
    "<!-- x -->",
    "|table|",
]
NICE = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
# Valid names and versions that YAML 1.1 (or 1.2) would read as something else unquoted.
TRICKY_NAMES = ["yes", "no", "on", "off", "y", "n", "true", "null", "nan", "inf", "0x1f",
                "1e3", "007", "123", "0o17", "1-2", "a" * 63]  # fmt: skip
TRICKY_VERSIONS = ["1e3", "0x1F", "yes", "NO", "On", "null", "Null", "007", "1_000", "1.0",
                   "1.10", "NaN", "Y", "1e-3", "0b101", "2024-01-01", "1.2.3", "TRUE", "v" * 63]  # fmt: skip
hostile_text = st.one_of(
    st.lists(st.one_of(st.sampled_from(HOSTILE), NICE), min_size=1, max_size=5).map("".join),
    st.tuples(st.sampled_from(HOSTILE), st.integers(20, 120)).map(lambda p: p[0] * p[1]),
    st.text(max_size=12),
    NICE.map(lambda s: s + "\n"),  # valid, but for a trailing newline
    NICE.map(lambda s: s * 10),  # valid characters, too long for a Kubernetes name
)
good_names = st.one_of(NICE, st.sampled_from(TRICKY_NAMES))
good_versions = st.one_of(
    st.from_regex(r"[0-9A-Za-z][0-9A-Za-z._-]{0,12}", fullmatch=True).filter(
        lambda v: ".." not in v
    ),
    st.sampled_from(TRICKY_VERSIONS),
)
names = st.one_of(good_names, hostile_text)
versions = st.one_of(good_versions, hostile_text)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.none(),
    st.booleans(),
    hostile_text,
)


@st.composite
def fields(draw: st.DrawFn, good: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Values for `good`'s fields: valid (if tricky) ones, except for up to two chosen to be
    hostile; so both the refusals and the success paths are exercised."""
    hostile = draw(st.sets(st.sampled_from(sorted(good)), max_size=2))
    return {name: draw(hostile_text if name in hostile else good[name]) for name in good}


OPERATORS = [">", ">=", "<", "<=", "==", "!=", "=>", "=", "<>", "", "and", "in"]
TRACEBACK_FREE = ("Traceback", "internal error")


# --------------------------------------------------------------------------- checks


def assert_clean(result: Result, allowed: set[int], *fields: str) -> None:
    """An allowed exit code, never a traceback; exit 2 is one line naming a field."""
    if currently_in_test_context():
        event(f"exit {result.exit_code}")
    assert result.exit_code in allowed, result
    for text in TRACEBACK_FREE:
        assert text not in result.stderr and text not in result.stdout, result
    if result.exit_code == 2:
        assert result.stderr.startswith("model-bot: error: "), result
        assert result.stderr.count("\n") == 1, result
        if fields:
            assert any(f in result.stderr for f in fields), (fields, result.stderr)


def yaml_documents(data: bytes) -> list[Any]:
    """Parse with a YAML 1.2 parser (ruamel) and a 1.1 parser (PyYAML); both must agree on
    every string value the bot put there (they differ only on 1.1-only scalars, which the
    bot must quote)."""
    text = data.decode("utf-8")
    modern = list(YAML(typ="safe", pure=True).load_all(text))
    legacy = list(pyyaml.safe_load_all(text))
    assert strings(modern) == strings(legacy), text
    return modern


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*strings(k), *strings(v)]]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def assert_rendered(files: dict[str, bytes], model: str, version: str, tag: str) -> None:
    """Every file parses both ways, carries the names exactly, and the manifests validate."""
    assert files
    seen_kinds = set()
    for path, data in files.items():
        for doc in yaml_documents(data):
            assert isinstance(doc, dict), (path, doc)
            kind = doc.get("kind")
            if kind in ("Rollout", "AnalysisTemplate"):
                seen_kinds.add(kind)
                assert validate_manifest(doc) == [], (path, validate_manifest(doc))
                assert doc["metadata"]["name"] in (model, f"{model}-analysis")
            if path.endswith("values.yaml"):
                assert doc["model"]["version"] == version
                assert doc["image"]["tag"] == tag
    assert seen_kinds == {"Rollout", "AnalysisTemplate"}


# --------------------------------------------------------------------------- gate


gate_results = st.one_of(
    # the documented shape, with hostile names and values
    st.fixed_dictionaries(
        {
            "model": st.fixed_dictionaries(
                {"name": names, "version": versions},
                optional={"image": hostile_text, "tag": hostile_text, "uri": hostile_text},
            ),
            "metrics": st.dictionaries(st.one_of(names, st.just("accuracy")), numbers, max_size=4),
        },
        optional={
            "champion": st.fixed_dictionaries(
                {"version": versions, "metrics": st.dictionaries(names, numbers, max_size=3)}
            ),
            "slices": st.dictionaries(hostile_text, st.dictionaries(names, numbers, max_size=2)),
            "scores": st.dictionaries(names, st.lists(numbers, max_size=4), max_size=2),
            "lineage": st.dictionaries(hostile_text, hostile_text, max_size=3),
        },
    ),
    # anything JSON at all
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), hostile_text),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)
        ),
        max_leaves=12,
    ),
)


gate_inputs = fields(
    {
        "data": st.fixed_dictionaries(
            {
                "model": st.fixed_dictionaries({"name": good_names, "version": good_versions}),
                "metrics": st.fixed_dictionaries(
                    {"accuracy": st.floats(0, 1), "safety_violations": st.just(0)}
                ),
            }
        ),
        "metric": st.sampled_from(["accuracy", "regression_delta", "accuracy[region=eu]"]),
        "operator": st.sampled_from(OPERATORS[:6]),
        "threshold": st.one_of(st.floats(-1, 2), st.integers(-5, 5)),
    }
)


@EXAMPLES
@given(
    inputs=st.one_of(gate_inputs, st.fixed_dictionaries({"data": gate_results}, optional={})),
    output=st.sampled_from(["text", "json", "markdown"]),
)
def test_gate_never_crashes(tmp_path: Path, inputs: dict[str, Any], output: str) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(inputs["data"]), encoding="utf-8")
    gate = f"{inputs.get('metric', 'accuracy')} {inputs.get('operator', '>')} {inputs.get('threshold', 0.9)}"
    analysis = {"name": "error-rate", "query": "vector(0)", "success": "result < 0.01"}
    policy = policy_file(tmp_path, gate, analysis)
    result = run("gate", "--results", results, "--policy", policy, "--format", output)
    assert_clean(result, {0, 1, 2}, str(results), str(policy))
    if result.exit_code in (0, 1):
        assert result.stderr == ""
        if output == "json":
            decision = json.loads(result.stdout)
            assert decision["verdict"] == ("pass" if result.exit_code == 0 else "fail")


def test_gate_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_bytes(b"\xff\xfe{{ not json\n")
    result = run("gate", "--results", results, "--policy", DEFAULT_POLICY)
    assert_clean(result, {2}, str(results))


# --------------------------------------------------------------------------- render

GOOD_QUERIES = [
    'sum(rate(http_requests_total{app="{{ model }}",code=~"5.."}[2m]))',
    'up{job=": # {not a template}", ns="{{ namespace }}"} > 0',
    "vector(1) # a PromQL comment: with 'quotes' and \"more\"",
    'max(x{env="{{ environment }}"}) \n or vector(0)',
]
GOOD_CONDITIONS = ["result < 0.01", "result[0] >= 1e3", "result == 0", "result <= 1.5"]


def policy_file(directory: Path, gate: str, analysis: dict[str, Any]) -> Path:
    """The default policy with its first gate and its first analysis metric replaced; as
    JSON, which is YAML too, so any string survives the trip exactly."""
    data = YAML(typ="safe", pure=True).load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    data["gates"][0] = {"metric": gate}
    data["analysis"]["metrics"][0] = analysis
    path = directory / "policy.yaml"
    # ensure_ascii=False: YAML reads a JSON surrogate-pair escape as two lone surrogates.
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


render_inputs = fields(
    {
        "model": good_names,
        "version": good_versions,
        "environment": st.one_of(st.just("production"), good_names),
        "image": st.sampled_from(["ghcr.io/acme/model", "registry.local:5000/a/b_c", "x"]),
        "tag": st.one_of(st.none(), good_versions),
        "namespace": st.one_of(st.none(), good_names),
        "metric": good_names,
        "query": st.sampled_from(GOOD_QUERIES),
        "success": st.sampled_from(GOOD_CONDITIONS),
    }
)


RENDER_OK = {
    "model": "fraud",
    "version": "7",
    "environment": "production",
    "image": "ghcr.io/acme/model",
    "tag": None,
    "namespace": None,
    "metric": "error-rate",
    "query": "vector(0)",
    "success": "result < 0.01",
}


@EXAMPLES
@given(inputs=render_inputs)
# Names valid but for a trailing newline (Python's `$` matched before it: a folder and a
# Rollout named "fraud\n" were written).
@example(inputs=RENDER_OK | {"model": "fraud\n"})
@example(inputs=RENDER_OK | {"version": "7\n"})
@example(inputs=RENDER_OK | {"metric": "error-rate\n"})
@example(inputs=RENDER_OK | {"image": "ghcr.io/acme/model\n"})
@example(inputs=RENDER_OK | {"version": "1e3", "model": "yes", "namespace": "null"})
def test_render_refuses_or_renders_valid_yaml(inputs: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        analysis = {k: inputs[k] for k in ("query", "success")} | {"name": inputs["metric"]}
        policy = policy_file(Path(tmp), "accuracy > 0.9", analysis)
        args: list[str | Path] = ["render", "--policy", policy, "--out", out, "--validate"]
        for flag in ("model", "version", "environment", "image", "tag", "namespace"):
            if inputs[flag] is not None:
                args += [f"--{flag}", inputs[flag]]
        result = run(*args)
        assert_clean(
            result,
            {0, 2},
            *(f"--{f}" for f in ("model", "version", "environment", "image", "tag", "namespace")),
            f"{policy}: ",
            "policy: analysis.metrics[",  # a query template that does not compile
        )
        if result.exit_code != 0:
            assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
            return
        model, environment = inputs["model"], inputs["environment"]
        written = {
            str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
        }
        assert set(written) == {
            f"environments/{environment}/{model}/{name}"
            for name in ("values.yaml", "rollout.yaml", "analysis-template.yaml")
        }
        tag = inputs["tag"] or inputs["version"]
        assert_rendered(written, model, inputs["version"], tag)
        (template,) = yaml_documents(
            written[f"environments/{environment}/{model}/analysis-template.yaml"]
        )
        names = [m["name"] for m in template["spec"]["metrics"]]
        assert names[0] == inputs["metric"]
        assert "outcome: changed" in result.stdout
        assert run(*args).stdout.endswith("outcome: unchanged\n")  # a second run: no change


# --------------------------------------------------------------------------- promote


@pytest.fixture(scope="module")
def env_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A local bare environment repo (local mode: no GitHub), shared by the examples."""
    bare = make_bare_repo(tmp_path_factory.mktemp("hostile") / "env.git")
    seed_env_repo(bare, {"environments/production/.keep": b"", "README.md": b"# env\n"})
    yield bare


def branch_files(bare: Path, branch: str) -> dict[str, bytes]:
    listing = git(bare, "ls-tree", "-r", "--name-only", "-z", f"refs/heads/{branch}")
    files = {}
    for name in filter(None, listing.split("\0")):
        blob = subprocess.run(
            ["git", f"--git-dir={bare}", "show", f"refs/heads/{branch}:{name}"],
            capture_output=True,
            check=True,
        )
        files[name] = blob.stdout
    return files


promote_inputs = fields(
    {
        "model": good_names,
        "version": good_versions,
        "tag": st.one_of(st.none(), good_versions),
        "metric": st.one_of(good_names, st.text(min_size=1, max_size=20)),
        "run_id": st.one_of(st.none(), good_versions, st.text(max_size=20)),
        "param": st.text(max_size=30),
    }
)


PROMOTE_OK = {
    "model": "fraud",
    "version": "7",
    "tag": None,
    "metric": "f1",
    "run_id": None,
    "param": "",
}


@EXAMPLES
@given(inputs=promote_inputs, dry_run=st.booleans())
# A run id of blank lines was an internal error (a trailer must be one non-empty line).
@example(inputs=PROMOTE_OK | {"run_id": "\n\n"}, dry_run=False)
@example(inputs=PROMOTE_OK | {"run_id": "a\nb\x00c"}, dry_run=False)
# A bad tag from the gate results was blamed on a `--tag` flag promote does not have.
@example(inputs=PROMOTE_OK | {"tag": ": : "}, dry_run=True)
@example(inputs=PROMOTE_OK | {"model": "fraud\n"}, dry_run=True)
def test_promote_refuses_or_proposes_valid_yaml(
    env_repo: Path, tmp_path: Path, inputs: dict[str, Any], dry_run: bool
) -> None:
    model, version, tag, metric = (inputs[k] for k in ("model", "version", "tag", "metric"))
    results = tmp_path / "results.json"
    candidate: dict[str, Any] = {"name": model, "version": version, "image": "ghcr.io/acme/m"}
    if tag is not None:
        candidate["tag"] = tag
    metrics = {metric: 1.0, "accuracy": 0.95, "latency_p99_ms": 8.0, "safety_violations": 0}
    lineage = {"run_id": inputs["run_id"], "params": {metric: inputs["param"]}}
    results.write_text(
        json.dumps({"model": candidate, "metrics": metrics, "lineage": lineage}),
        encoding="utf-8",
    )
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    args: list[str | Path] = [
        "promote",
        "--results",
        results,
        "--policy",
        DEFAULT_POLICY,
        "--environment",
        "production",
        "--env-repo",
        env_repo,
        *(["--dry-run"] if dry_run else []),
    ]
    before = git(env_repo, "for-each-ref")
    result = run(*args, env={"TMPDIR": str(work)})
    assert_clean(result, {0, 2}, f"{results}: ", "gate results: ")
    if result.exit_code != 0:
        assert "--tag" not in result.stderr  # promote has no such flag
        assert git(env_repo, "for-each-ref") == before  # nothing pushed
        return
    branch = f"model-bot/promote/production/{model}"
    if dry_run:
        assert git(env_repo, "for-each-ref") == before
        assert "(dry run)" in result.stdout
        return
    assert f"branch: {branch}\n" in result.stdout
    files = branch_files(env_repo, branch)
    folder = f"environments/production/{model}/"
    assert_rendered(
        {p: d for p, d in files.items() if p.startswith(folder)}, model, version, tag or version
    )
    report = files[f"reports/production/{model}/{version}.md"].decode("utf-8")
    assert "<script" not in report.lower() and "\x00" not in report
    message = git(env_repo, "log", "-1", "--format=%B", f"refs/heads/{branch}")
    trailers = parse_trailers(message)
    assert (trailers["Model"], trailers["Model-Version"]) == (model, version)


# --------------------------------------------------------------------------- chatops


@EXAMPLES
@given(
    body=st.one_of(
        hostile_text,
        st.tuples(
            st.sampled_from(["/rollback", "/help", "/ROLLBACK", " /rollback"]), hostile_text
        ).map(" ".join),
        st.lists(st.one_of(hostile_text, st.just("/rollback x y")), max_size=4).map("\n".join),
    ),
    login=st.one_of(st.just("alice"), hostile_text),
    action=st.sampled_from(["created", "edited", "deleted"]),
)
def test_chatops_never_crashes_on_a_comment(
    tmp_path: Path, body: str, login: str, action: str
) -> None:
    from tests.webhooks import ISSUE_COMMENT_CREATED, load, rewrite

    event = rewrite(
        load(ISSUE_COMMENT_CREATED),
        api_url="http://127.0.0.1:9/api/v3",
        repo="acme/env",
        number=7,
        comment_id=1,
        body=body,
        author=login,
        action=action,
    )
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    # No token: a comment that holds a command stops at that, without calling anyone.
    result = run("chatops", "--event-path", path, env={"GITHUB_TOKEN": None})
    assert_clean(result, {0, 2}, "GITHUB_TOKEN", "--event-path")
    if result.exit_code == 0:
        assert result.stdout.startswith("chatops: ignored: ")
        assert result.stdout.count("\n") == 1  # one line, whatever the comment held
