"""The MLflow adapter never shows the credentials a tracking URI holds (`user:password@`,
`?token=`): not in its errors, whatever the server answers, nor in the run link it builds.

A stub HTTP server stands in for a tracking server gone wrong; it can echo the request path
(MLflow appends its endpoint to the tracking URI, so a `?token=` lands in the path).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.adapters.mlflow import evidence_from_mlflow, run_url
from bot.core.errors import ExternalError, InvalidInput
from tests.realparts.prometheus import AuthProxy

PASSWORD = "s3cr3t-pass"
TOKEN = "tok-s3cr3t-0123"
SECRETS = (PASSWORD, TOKEN, "s3cr3t")


def shows_no_secret(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


# --------------------------------------------------------------------------- a stub server

Answer = Callable[[str], tuple[int, str, str]]  # request path -> status, content type, body


@dataclass
class Stub:
    port: int
    answer: Answer


@pytest.fixture
def stub() -> Iterator[Stub]:
    """An HTTP server on 127.0.0.1 answering every request with `stub.answer(path)`."""
    state = Stub(0, lambda path: (200, "text/plain", "ok"))

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            status, kind, body = state.answer(self.path)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the cases

URIS = {
    "userinfo": "http://alice:{password}@127.0.0.1:{port}",
    "query-token": "http://127.0.0.1:{port}/?token={token}",
    "both": "http://alice:{password}@127.0.0.1:{port}/mlflow?access_token={token}&x=1",
    "token-as-user": "http://{token}@127.0.0.1:{port}",
}


def echo(status: int, kind: str = "text/plain") -> Answer:
    return lambda path: (status, kind, f"no route for {path} (from http://alice:{PASSWORD}@x)")


ANSWERS: dict[str, Answer | None] = {
    "closed-port": None,
    "404-not-mlflow": lambda path: (404, "text/html", "<h1>Not Found</h1>"),
    "404-echoing-the-path": echo(404),
    "404-no-such-model": lambda path: (
        404,
        "application/json",
        json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"{path} not found"}),
    ),
    "400-echoing-the-path": echo(400),
    "500": lambda path: (500, "text/plain", "boom"),
    "500-echoing-the-path": echo(500),
    "503-json-echoing": lambda path: (
        503,
        "application/json",
        json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE", "message": path}),
    ),
    "200-not-json-echoing": echo(200, "text/html"),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
@pytest.mark.parametrize("uri", list(URIS))
def test_no_error_shows_the_credentials_of_the_tracking_uri(
    stub: Stub, uri: str, answer: str
) -> None:
    respond = ANSWERS[answer]
    port = closed_port() if respond is None else stub.port
    if respond is not None:
        stub.answer = respond
    tracking_uri = URIS[uri].format(password=PASSWORD, token=TOKEN, port=port)
    with pytest.raises((ExternalError, InvalidInput)) as caught:
        evidence_from_mlflow(tracking_uri, "fraud-detector", "7", timeout=2)
    message = str(caught.value)
    assert shows_no_secret(message), message
    assert shows_no_secret(repr(caught.value)), repr(caught.value)
    assert f"127.0.0.1:{port}" in message  # still says where
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    "tracking_uri",
    [
        f"postgresql://mlflow:{PASSWORD}@db:5432/mlflow",
        f"sqlite:///srv/mlflow.db?token={TOKEN}",
        f"ftp://{TOKEN}@files.example/",
    ],
)
def test_an_unsupported_uri_is_refused_without_its_credentials(tracking_uri: str) -> None:
    with pytest.raises(InvalidInput, match="unsupported MLflow tracking URI") as caught:
        evidence_from_mlflow(tracking_uri, "fraud-detector", "7")
    assert shows_no_secret(str(caught.value)), str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        (
            f"http://alice:{PASSWORD}@mlflow:5000",
            "http://***@mlflow:5000/#/experiments/1/runs/r",
        ),
        (
            f"https://{TOKEN}@mlflow.example.com/",
            "https://***@mlflow.example.com/#/experiments/1/runs/r",
        ),
        (
            f"https://mlflow.example.com/?token={TOKEN}&team=ml",
            "https://mlflow.example.com/?token=***&team=ml#/experiments/1/runs/r",
        ),
        (
            f"http://u:{PASSWORD}@[::1]:5000/prefix/?sig={TOKEN}",
            "http://***@[::1]:5000/prefix/?sig=***#/experiments/1/runs/r",
        ),
    ],
)
def test_the_run_link_holds_no_credentials(uri: str, url: str) -> None:
    assert run_url(uri, "1", "r") == url
    plain = "http://mlflow:5000/prefix"  # and one without any is linked as before
    assert run_url(plain, "1", "r") == f"{plain}/#/experiments/1/runs/r"


@pytest.mark.parametrize(
    "demand",
    [{"basic": ("alice", "another-password")}, {"leak_status": 400}, {"leak_status": 500}],
    ids=["wrong-credentials-401", "echo-400", "echo-500"],
)
def test_a_proxy_echoing_the_authorization_header_does_not_leak_it(
    auth_proxy_factory: Callable[..., AuthProxy], demand: dict[str, object]
) -> None:
    """A basic-auth proxy in front of MLflow that echoes the `Authorization` header it got
    (what `http://alice:PASSWORD@` makes the client send) in its rejection."""
    proxy = auth_proxy_factory("http://127.0.0.1:1", **demand)
    tracking_uri = proxy.url.replace("http://", f"http://alice:{PASSWORD}@")
    with pytest.raises(ExternalError) as caught:
        evidence_from_mlflow(tracking_uri, "fraud-detector", "7", timeout=2)
    message = str(caught.value)
    sent = proxy.seen[0]["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert shows_no_secret(message), message
    assert sent[6:14] not in message, message  # not even the start of the base64
    assert proxy.url.replace("http://", "http://***@") in message
