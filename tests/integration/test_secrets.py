"""No command leaks a credential on any failure path.

Every command is run through its failure paths with distinctive tokens: a bad token (401), a
read-only token whose push is refused (403), GitHub answering 500, Prometheus down or echoing
the credentials it was sent, ChatOps with a failing rollback. MLflow tracking URIs and
Prometheus URLs that hold credentials (`http://alice:PASSWORD@host`, `?token=TOKEN`) go
through `gate`, `promote` and `analyze`: MLflow down, answering 404 or 500, behind a proxy that
echoes the `Authorization` header, or up (its run link goes into the report and the PR); a
Prometheus URL with credentials, on the command line or in `.model-bot.yaml`, is refused. Logging is at DEBUG for the
run (PyGithub, urllib3 and GitPython all log), `--verbose` prints tracebacks, and the run acts
as a GitHub Action (annotations, `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`). Then none of the
tokens, nor their base64 forms (`x-access-token:TOKEN` is what git sends, `alice:PASSWORD`
what an HTTP client sends for a URL's userinfo), may appear in:
stdout, stderr, the log records, any file of the bot's clones (`.git/config` included, read
just before the bot removes them), any file left under the run's temp dirs, the step output
and summary files, or anything the fake GitHub stored (PR bodies, comments, git history).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.adapters.git import EnvRepo
from tests.envfixtures import (
    BOT_LOGIN,
    CONFIG,
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    REPO,
    deploy,
    fast_github,
    github_env_repo,
)
from tests.fakegithub import FakeGitHub
from tests.realparts.prometheus import AuthProxy, PrometheusServer, free_port
from tests.webhooks import PR_COMMENT_CREATED, load, rewrite

pytestmark = pytest.mark.slow

OWNER, NAME = REPO.split("/")
SECRET = "ghs_SECRET_b0tT0ken0123456789abcdefABCDEF01"
BAD = "ghs_SECRET_badT0ken9876543210fedcbaFEDCBA98"
READER = "ghs_SECRET_readerT0ken11223344556677889900"
PROMETHEUS = "prom_SECRET_t0ken_aabbccddeeff00112233"
# Credentials inside URLs: the password of `http://alice:PASSWORD@host`, a `?token=` value.
MLFLOW_PASSWORD = "s3cr3t-pass_mlflow_0a1b2c3d4e5f6789"
MLFLOW_TOKEN = "s3cr3t-qtok_mlflow_9f8e7d6c5b4a3210"
PROMETHEUS_PASSWORD = "s3cr3t-pass_prom_0a1b2c3d4e5f6789"
PROMETHEUS_URL_TOKEN = "s3cr3t-qtok_prom_9f8e7d6c5b4a3210"
MODEL = "error-regression"  # its canary fails whenever Prometheus answers


def forms(label: str, secret: str) -> dict[str, str]:
    """The token, and its base64 at each of the three alignments it can have inside encoded
    text (so `x-access-token:TOKEN`, git's basic-auth form, is covered, and any other)."""
    found = {f"{label} token": secret}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret.encode()).decode()
        # Drop the characters that also depend on the bytes before and after it.
        found[f"{label} token in base64 (offset {offset})"] = encoded[4 if offset else 0 : -4]
    return found


FORBIDDEN = {
    name: value
    for label, secret in (
        ("GitHub", SECRET),
        ("bad GitHub", BAD),
        ("read-only GitHub", READER),
        ("Prometheus", PROMETHEUS),
        ("MLflow URI password", MLFLOW_PASSWORD),
        ("MLflow URI query", MLFLOW_TOKEN),
        ("Prometheus URL password", PROMETHEUS_PASSWORD),
        ("Prometheus URL query", PROMETHEUS_URL_TOKEN),
    )
    for name, value in forms(label, secret).items()
}


def with_userinfo(url: str, password: str) -> str:
    """`http://host:port` -> `http://alice:PASSWORD@host:port`."""
    return url.replace("://", f"://alice:{password}@", 1)


def leaks(text: str | bytes) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    return [name for name, value in FORBIDDEN.items() if value.encode() in data]


@dataclass
class World:
    fake: FakeGitHub
    tmp: Path
    prometheus: PrometheusServer
    proxies: Callable[..., AuthProxy]
    promotion: int  # the merged promotion PR of MODEL 2
    fixture: Callable[[str], Any]  # a fixture by name, set up on first use (MLflow)
    clone_files: dict[str, bytes] = field(default_factory=dict)  # read before clean-up
    shown: list[str] = field(default_factory=list)  # redacted texts the outputs must show

    def mlflow(self) -> Registry:
        registry = self.fixture("secrets_registry")
        assert isinstance(registry, Registry)
        return registry

    def event(self, body: str) -> Path:
        """alice's comment `body` on the merged promotion PR, as GitHub sends the event."""
        alice = self.fake.add_user("alice", token="ghs_aliceToken0000000000000000000000")
        self.fake.set_permission(OWNER, NAME, "alice", "write")
        issue = self.fake.client(alice.token).get_repo(REPO).get_issue(self.promotion)
        comment = issue.create_comment(body)
        data = rewrite(
            load(PR_COMMENT_CREATED),
            api_url=self.fake.api_url,
            repo=REPO,
            number=self.promotion,
            comment_id=comment.id,
            body=body,
            author="alice",
            state="closed",
            pull_request=True,
        )
        path = self.tmp / "event.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path


@dataclass(frozen=True)
class Registry:
    uri: str  # the tracking server, no credentials
    model: str  # version 1 is the champion, 2 the candidate; both pass the default policy
    experiment_id: str


@pytest.fixture(scope="module")
def secrets_registry(mlflow_server: str) -> Registry:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    suffix = str(int(time.time() * 1000))
    experiment_id = client.create_experiment(f"secrets-{suffix}")
    model = f"secrets-{suffix}"
    client.create_registered_model(model)
    for number, accuracy in (("1", 0.948), ("2", 0.951)):
        run_id = client.create_run(experiment_id).info.run_id
        for key, value in {
            "accuracy": accuracy,
            "latency_p99_ms": 8.0,
            "safety_violations": 0,
        }.items():
            client.log_metric(run_id, key, value)
        client.set_terminated(run_id)
        tags = {"image": "ghcr.io/acme/secrets", "image_tag": f"{number}-abc1234"}
        version = client.create_model_version(model, f"runs:/{run_id}/model", run_id, tags=tags)
        assert str(version.version) == number
    client.set_registered_model_alias(model, "champion", "1")
    return Registry(mlflow_server, model, experiment_id)


@pytest.fixture
def world(
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    prometheus: PrometheusServer,
    auth_proxy_factory: Callable[..., AuthProxy],
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    fast_github(monkeypatch)
    github_env_repo(fake_github, token=SECRET)
    fake_github.add_user("reader", token=READER)
    fake_github.set_permission(OWNER, NAME, "reader", "read")
    work = tmp_path / "deploy"
    promotions = deploy(fake_github, REPO, MODEL, ("1", "2"), token=SECRET, workdir=work)
    run_tmp = tmp_path / "run-tmp"
    run_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(run_tmp))
    world = World(
        fake_github,
        tmp_path,
        prometheus,
        auth_proxy_factory,
        promotions[-1].number,
        request.getfixturevalue,
    )

    original_close = EnvRepo.close

    def close(self: EnvRepo) -> None:
        for path in Path(self.path).rglob("*"):
            if path.is_file() and not path.is_symlink():
                world.clone_files[str(path)] = path.read_bytes()
        original_close(self)

    monkeypatch.setattr(EnvRepo, "close", close)
    yield world


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    argv: Callable[[World], list[str]]
    code: int
    expect: str  # in stderr (or stdout for exit 3)
    token: str = SECRET
    setup: Callable[[World], None] = lambda world: None
    env: Callable[[World], dict[str, str]] = lambda world: {}
    # The test itself put a credential into the env repo (`.model-bot.yaml`): the clone and
    # the git history hold it by design, so only PRs and comments are scanned on the fake.
    seeded: bool = False


def env_repo_args(world: World) -> list[str]:
    return ["--env-repo", REPO, "--github-api-url", world.fake.api_url]


def promote(world: World) -> list[str]:
    results = world.tmp / "results.json"
    results.write_text(
        json.dumps(
            {
                "model": {"name": MODEL, "version": "3", "image": "ghcr.io/acme/m", "tag": "3"},
                "metrics": {"accuracy": 0.95, "latency_p99_ms": 8.0, "safety_violations": 0},
            }
        )
    )
    return [
        "promote",
        "--results",
        str(results),
        "--policy",
        str(DEFAULT_POLICY_PATH),
        "--environment",
        ENVIRONMENT,
        *env_repo_args(world),
        "--summary-file",
        str(world.tmp / "summary.md"),
    ]


def rollback(world: World) -> list[str]:
    return [
        "rollback",
        "--model",
        MODEL,
        "--environment",
        ENVIRONMENT,
        "--reason",
        "latency",
        *env_repo_args(world),
        "--summary-file",
        str(world.tmp / "summary.md"),
    ]


def analyze(url: Callable[[World], str] | None) -> Callable[[World], list[str]]:
    """`model-bot analyze` with `--prometheus-url url` (None: the env repo's config)."""

    def argv(world: World) -> list[str]:
        return [
            "analyze",
            "--model",
            MODEL,
            "--environment",
            ENVIRONMENT,
            "--policy",
            str(DEFAULT_POLICY_PATH),
            *env_repo_args(world),
            *(["--prometheus-url", url(world)] if url is not None else []),
            "--prometheus-timeout",
            "2",
            "--at",
            str(world.prometheus.now),
            "--summary-file",
            str(world.tmp / "summary.md"),
        ]

    return argv


def chatops(world: World) -> list[str]:
    event = world.event("/rollback the canary looks bad")
    return ["chatops", "--event-path", str(event), "--bot-login", BOT_LOGIN]


def gate_mlflow(
    uri: Callable[[World], str] | None, model: Callable[[World], str] = lambda w: "fraud-detector"
) -> Callable[[World], list[str]]:
    """`model-bot gate` on version 2 from MLflow at `uri` (None: $MLFLOW_TRACKING_URI)."""
    return lambda world: [
        "gate",
        "--mlflow-model",
        model(world),
        "--mlflow-version",
        "2",
        *(["--tracking-uri", uri(world)] if uri is not None else []),
        "--policy",
        str(DEFAULT_POLICY_PATH),
        "--summary-file",
        str(world.tmp / "summary.md"),
    ]


def promote_mlflow(
    uri: Callable[[World], str],
    model: Callable[[World], str] = lambda w: "fraud-detector",
    version: str = "2",
) -> Callable[[World], list[str]]:
    return lambda world: [
        "promote",
        "--mlflow-model",
        f"models:/{model(world)}/{version}",
        "--tracking-uri",
        uri(world),
        "--policy",
        str(DEFAULT_POLICY_PATH),
        "--environment",
        ENVIRONMENT,
        *env_repo_args(world),
        "--summary-file",
        str(world.tmp / "summary.md"),
    ]


def shows(world: World, url: str) -> str:
    """`url`, noting how the outputs must show it: userinfo and tokens as `***`."""
    shown = re.sub(r"://[^/?]*@", "://***@", url)
    world.shown.append(shown.replace(MLFLOW_TOKEN, "***").replace(PROMETHEUS_URL_TOKEN, "***"))
    return url


def mlflow_down(world: World) -> str:
    return shows(world, with_userinfo(f"http://127.0.0.1:{free_port()}", MLFLOW_PASSWORD))


def mlflow_down_query(world: World) -> str:
    return shows(world, f"http://127.0.0.1:{free_port()}/?token={MLFLOW_TOKEN}&team=ml")


def mlflow_via_proxy(world: World, **demand: object) -> str:
    """MLflow behind a basic-auth proxy, as `http://alice:PASSWORD@proxy`: the proxy wants
    `alice:PASSWORD` (or `demand`) and echoes the `Authorization` header when it rejects."""
    demand = demand or {"basic": ("alice", MLFLOW_PASSWORD)}
    proxy = world.proxies(world.mlflow().uri, **demand)
    return shows(world, with_userinfo(proxy.url, MLFLOW_PASSWORD))


def mlflow_run_link(world: World) -> str:
    """The real registry behind the proxy; its run link must be shown redacted."""
    uri = mlflow_via_proxy(world)
    world.shown.append(re.sub(r"://[^/?]*@", "://***@", uri) + "/#/experiments/")
    return uri


def prometheus_config(address: str, *, per_environment: bool = False) -> Callable[[World], None]:
    """`.model-bot.yaml` with `prometheus_address` (top level or under the environment)."""

    def setup(world: World) -> None:
        quoted = json.dumps(address.replace("PORT", str(free_port())))
        if per_environment:
            config = CONFIG.replace(
                f"  {ENVIRONMENT}:\n", f"  {ENVIRONMENT}:\n    prometheus_address: {quoted}\n"
            )
        else:
            config = CONFIG + f"prometheus_address: {quoted}\n"
        assert "prometheus_address" in config
        world.fake.commit_files(
            OWNER, NAME, "main", {".model-bot.yaml": config}, "Point at Prometheus"
        )

    return setup


def api_500(world: World) -> None:
    world.fake.inject(status=500, times=1000, method="POST", path_regex=r"/pulls$")


def enforce(world: World) -> None:
    world.fake.enforce_permissions = True


CASES: dict[str, Case] = {
    "promote-bad-token-401": Case(promote, 2, "GitHub rejected the token (401", token=BAD),
    "promote-push-refused-403": Case(promote, 2, "could not push", token=READER, setup=enforce),
    "promote-api-500": Case(promote, 2, "GitHub answered 500", setup=api_500),
    "rollback-bad-token-401": Case(rollback, 2, "GitHub rejected the token (401", token=BAD),
    "rollback-push-refused-403": Case(rollback, 2, "could not push", token=READER, setup=enforce),
    "rollback-api-500": Case(rollback, 2, "GitHub answered 500", setup=api_500),
    "analyze-prometheus-down": Case(
        analyze(lambda w: f"http://127.0.0.1:{free_port()}"), 3, "cannot connect to Prometheus"
    ),
    "analyze-prometheus-echoes-credentials": Case(
        analyze(lambda w: w.proxies(w.prometheus.url, token="something-else").url),
        3,
        "refused the request (HTTP 401)",
    ),
    "analyze-revert-api-500": Case(
        analyze(lambda w: w.prometheus.url), 2, "GitHub answered 500", setup=api_500
    ),
    "chatops-rollback-api-500": Case(chatops, 2, "GitHub answered 500", setup=api_500),
    "chatops-bad-token-401": Case(chatops, 2, "GitHub rejected the token (401", token=BAD),
    # --- an MLflow tracking URI with credentials
    "mlflow-gate-down": Case(gate_mlflow(mlflow_down), 2, "connection refused"),
    "mlflow-gate-down-query-token": Case(gate_mlflow(mlflow_down_query), 2, "connection refused"),
    "mlflow-gate-down-from-environment": Case(
        gate_mlflow(None),
        2,
        "connection refused",
        env=lambda w: {"MLFLOW_TRACKING_URI": mlflow_down(w)},
    ),
    "mlflow-promote-down": Case(promote_mlflow(mlflow_down), 2, "connection refused"),
    "mlflow-promote-down-query-token": Case(
        promote_mlflow(mlflow_down_query), 2, "connection refused"
    ),
    "mlflow-gate-no-such-model-404": Case(
        gate_mlflow(mlflow_via_proxy), 2, "'fraud-detector' not found in the registry"
    ),
    "mlflow-promote-no-such-version-404": Case(
        promote_mlflow(mlflow_via_proxy, lambda w: w.mlflow().model, version="42"),
        2,
        "version 42 not found in the registry",
    ),
    "mlflow-gate-wrong-password-401": Case(
        gate_mlflow(lambda w: mlflow_via_proxy(w, basic=("alice", "not-it"))), 2, "cannot read"
    ),
    "mlflow-gate-proxy-echoes-http-404": Case(
        gate_mlflow(lambda w: mlflow_via_proxy(w, leak_status=404)), 2, "cannot read"
    ),
    "mlflow-gate-http-500-server-error": Case(
        gate_mlflow(lambda w: mlflow_via_proxy(w, leak_status=500)), 2, "cannot read"
    ),
    "mlflow-promote-http-500-server-error": Case(
        promote_mlflow(lambda w: mlflow_via_proxy(w, leak_status=500)), 2, "cannot read"
    ),
    "mlflow-gate-query-token-real-server": Case(
        gate_mlflow(lambda w: shows(w, f"{w.mlflow().uri}/?token={MLFLOW_TOKEN}")),
        2,
        "cannot read",
    ),
    "mlflow-gate-passes": Case(
        gate_mlflow(mlflow_run_link, lambda w: w.mlflow().model), 0, "vs champion 1"
    ),
    "mlflow-promote-opens-pr": Case(
        promote_mlflow(mlflow_run_link, lambda w: w.mlflow().model), 0, "outcome: created"
    ),
    # --- a Prometheus URL with credentials: refused, before anything is asked or written
    "analyze-prometheus-url-userinfo": Case(
        analyze(lambda w: with_userinfo(f"http://127.0.0.1:{free_port()}", PROMETHEUS_PASSWORD)),
        2,
        "the Prometheus URL must not hold credentials",
    ),
    "analyze-prometheus-url-query-token": Case(
        analyze(lambda w: f"http://127.0.0.1:{free_port()}/?token={PROMETHEUS_URL_TOKEN}"),
        2,
        "the Prometheus URL must not have a ?query",
    ),
    "analyze-config-prometheus-address-userinfo": Case(
        analyze(None),
        2,
        "the Prometheus URL must not hold credentials",
        setup=prometheus_config(f"http://alice:{PROMETHEUS_PASSWORD}@127.0.0.1:PORT"),
        seeded=True,
    ),
    "analyze-config-prometheus-address-query-token": Case(
        analyze(None),
        2,
        "the Prometheus URL must not have a ?query",
        setup=prometheus_config(
            f"http://127.0.0.1:PORT/api?access_token={PROMETHEUS_URL_TOKEN}", per_environment=True
        ),
        seeded=True,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_no_failure_path_leaks_a_token(
    world: World, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    case = CASES[name]
    case.setup(world)
    argv = case.argv(world)
    output = world.tmp / "github-output"
    summary = world.tmp / "summary.md"
    output.write_text("")
    summary.write_text("")
    runner_temp = world.tmp / "runner-temp"
    runner_temp.mkdir()
    extra = case.env(world)
    environment = {
        "GITHUB_TOKEN": case.token,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner_temp),
        "TMPDIR": tempfile.gettempdir(),
        "PROMETHEUS_TOKEN": PROMETHEUS,
        "GITHUB_API_URL": world.fake.api_url,
        **extra,
    }

    from bot.cli import main

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="github")  # PyGithub pins its logger to INFO
    with CliRunner().isolation(env=environment) as (out, err, _):
        try:
            main(["--verbose", *argv])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()

    assert code == case.code, (stdout, stderr)
    assert case.expect in (stderr if code == 2 else stdout), (stdout, stderr)
    if code == 2:
        assert "::error title=model-bot::" in stdout  # the Action's annotation
        assert "Traceback" in stderr  # --verbose: the traceback is shown, and scanned

    assert leaks(stdout) == [], stdout
    assert leaks(stderr) == [], stderr
    assert caplog.records, "nothing was logged: the DEBUG capture is not working"
    for record in caplog.records:
        assert leaks(f"{record.name} {record.getMessage()}") == [], record.getMessage()
    if name.startswith(("promote", "rollback", "chatops", "analyze-revert")):
        assert any(r.name == "github.Requester" for r in caplog.records)  # headers, masked
    if name.endswith(("-403", "-500")):  # these got as far as cloning
        assert any(path.endswith("/.git/config") for path in world.clone_files)
    for clone_path, data in world.clone_files.items():
        if not (case.seeded and clone_path.endswith("/.model-bot.yaml")):
            assert leaks(data) == [], clone_path
    for root in (Path(tempfile.gettempdir()), runner_temp):
        for path in root.rglob("*"):
            if path.is_file():
                assert leaks(path.read_bytes()) == [], path
    assert leaks(output.read_bytes()) == []
    assert leaks(summary.read_bytes()) == []
    stored = world.fake.all_stored_text(include_git=not case.seeded)
    assert leaks(stored) == []
    pulls = world.fake.pulls(OWNER, NAME)
    said = [p["title"] + "\n" + (p["body"] or "") for p in pulls]
    said += [c["body"] for c in world.fake.comments(OWNER, NAME)]
    assert leaks("\n".join(said)) == [], said
    # The scan is not vacuous: where the URL with credentials is shown, it is shown redacted.
    if name.startswith("mlflow-promote-opens"):
        assert any(world.mlflow().model in text for text in said), said
    shown_in = stdout + stderr + summary.read_text() + "\n".join(said)
    for text in world.shown:
        assert text in shown_in, (text, stdout, stderr)
    if name == "chatops-rollback-api-500":  # the error was told on the PR, token-free
        replies = [
            c["body"]
            for c in world.fake.comments(OWNER, NAME, world.promotion)
            if c["user"]["login"] == BOT_LOGIN
        ]
        assert any("the rollback failed: GitHub answered 500" in r for r in replies), replies
    assert world.fake.server_errors == []


def test_the_scan_sees_every_form_a_token_travels_in() -> None:
    """The scan above is not vacuous: it finds the token as git sends it (the header the bot
    puts in GIT_CONFIG_VALUE_n), raw, and base64-encoded after any prefix."""
    header = FakeGitHub.git_auth_header(SECRET)  # Authorization: Basic b64(x-access-token:T)
    assert leaks(header) == ["GitHub token in base64 (offset 0)"]
    assert leaks(f"token {BAD}") == ["bad GitHub token"]
    for prefix in ("", "u:", "us:", "use:"):
        encoded = base64.b64encode(f"{prefix}{READER}".encode())
        assert len(leaks(encoded)) == 1, prefix
    assert leaks(json.dumps({"Authorization": f"Bearer {PROMETHEUS}"})) == ["Prometheus token"]
    assert leaks("ghs_SECRET_ alone is not a token") == []
