"""No command leaks a credential on any failure path.

Every command is run through its failure paths with distinctive tokens: a bad token (401), a
read-only token whose push is refused (403), GitHub answering 500, Prometheus down or echoing
the credentials it was sent, ChatOps with a failing rollback. Logging is at DEBUG for the
run (PyGithub, urllib3 and GitPython all log), `--verbose` prints tracebacks, and the run acts
as a GitHub Action (annotations, `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`). Then none of the
tokens, nor their base64 forms (`x-access-token:TOKEN` is what git sends), may appear in:
stdout, stderr, the log records, any file of the bot's clones (`.git/config` included, read
just before the bot removes them), any file left under the run's temp dirs, the step output
and summary files, or anything the fake GitHub stored (PR bodies, comments, git history).
"""

from __future__ import annotations

import base64
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.adapters.git import EnvRepo
from tests.envfixtures import (
    BOT_LOGIN,
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
    )
    for name, value in forms(label, secret).items()
}


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
    clone_files: dict[str, bytes] = field(default_factory=dict)  # read before clean-up

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


@pytest.fixture
def world(
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    prometheus: PrometheusServer,
    auth_proxy_factory: Callable[..., AuthProxy],
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
    world = World(fake_github, tmp_path, prometheus, auth_proxy_factory, promotions[-1].number)

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


def analyze(url: Callable[[World], str]) -> Callable[[World], list[str]]:
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
            "--prometheus-url",
            url(world),
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
    environment = {
        "GITHUB_TOKEN": case.token,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner_temp),
        "TMPDIR": tempfile.gettempdir(),
        "PROMETHEUS_TOKEN": PROMETHEUS,
        "GITHUB_API_URL": world.fake.api_url,
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
    for path, data in world.clone_files.items():
        assert leaks(data) == [], path
    for root in (Path(tempfile.gettempdir()), runner_temp):
        for path in root.rglob("*"):
            if path.is_file():
                assert leaks(path.read_bytes()) == [], path
    assert leaks(output.read_bytes()) == []
    assert leaks(summary.read_bytes()) == []
    stored = world.fake.all_stored_text()
    assert leaks(stored) == []
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
