"""pytest plugin: a real Prometheus holding scenario data, and what stands in front of one.

* `prometheus` (session): one Prometheus 2.x holding every scenario of
  `tests.realparts.openmetrics.SCENARIOS` (scenario = `app` label = model name), backfilled
  with `promtool tsdb create-blocks-from openmetrics` and ready in well under a second.
* `prometheus_factory` (session): start more instances, e.g. one a test may stop.
* `auth_proxy_factory`: a reverse proxy on 127.0.0.1 that demands a bearer token, basic
  auth and/or headers (a tenant header like Mimir's `X-Scope-OrgID`), optionally over TLS,
  and records what each request carried.
* `silent_server`: accepts connections and never answers (a hung Prometheus).

The binaries are required: where `prometheus` or `promtool` is missing the tests FAIL with
how to install them (CI installs them; `scripts/test.sh` does too).

`running_prometheus` is a plain context manager, so benchmarks can use it without pytest.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.realparts.openmetrics import SCENARIOS, Scenario, aligned_now, generate

READY_TIMEOUT = 20.0
INSTALL_HINT = (
    "install Prometheus and promtool (Debian/Ubuntu: "
    "`sudo apt-get install -y prometheus`; scripts/test.sh does it), then rerun"
)


class MissingBinary(RuntimeError):
    """`prometheus` or `promtool` is not on PATH."""


def binaries() -> tuple[str, str]:
    found = shutil.which("prometheus"), shutil.which("promtool")
    missing = [
        name for name, path in zip(("prometheus", "promtool"), found, strict=True) if path is None
    ]
    if missing:
        raise MissingBinary(f"{' and '.join(missing)} not found on PATH: {INSTALL_HINT}")
    assert found[0] is not None and found[1] is not None
    return found[0], found[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrometheusServer:
    """A running Prometheus on a loopback port; its data ends at `now` (unix seconds)."""

    url: str
    now: int
    workdir: Path
    process: subprocess.Popen[bytes]
    scenarios: tuple[str, ...]

    @property
    def now_datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now, tz=dt.timezone.utc)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        path = self.workdir / "prometheus.log"
        return path.read_text(errors="replace") if path.exists() else ""


def backfill(
    workdir: Path, scenarios: Iterable[Scenario], now: int, openmetrics: str | None = None
) -> Path:
    """Write the scenarios' OpenMetrics file (or `openmetrics`, given whole) and turn it into
    TSDB blocks; returns the data dir."""
    _, promtool = binaries()
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "scenarios.om"
    source.write_text(openmetrics or generate(scenarios, now), encoding="utf-8")
    data = workdir / "data"
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {done.stderr or done.stdout}")
    return data


def _wait_ready(url: str, process: subprocess.Popen[bytes], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    return False


FUTURE = 6 * 3600
"""By default the scenarios end this long after the server starts: `analyze --at NOW`
judges the version the ledger says served at NOW, and every deployment a test makes lands
before it."""


def start_prometheus(
    workdir: Path,
    scenarios: Iterable[Scenario] | None = None,
    now: int | None = None,
    openmetrics: str | None = None,
) -> PrometheusServer:
    """Backfill `scenarios` (default: all) ending at `now` (default: the current 15 s mark),
    or the `openmetrics` text given (e.g. `tests.realparts.driftmetrics`), and start
    Prometheus on a free loopback port, ready to query."""
    prometheus, _ = binaries()
    chosen = tuple(SCENARIOS.values() if scenarios is None else scenarios)
    when = aligned_now(time.time()) + FUTURE if now is None else now
    data = backfill(workdir, chosen, when, openmetrics)
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n", encoding="utf-8")
    log_path = workdir / "prometheus.log"
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    prometheus,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={data}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--storage.tsdb.retention.time=30d",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if _wait_ready(url, process, time.monotonic() + READY_TIMEOUT):
            return PrometheusServer(url, when, workdir, process, tuple(s.app for s in chosen))
        server = PrometheusServer(url, when, workdir, process, ())
        server.stop()
    raise RuntimeError(f"Prometheus did not become ready:\n{log_path.read_text()[-2000:]}")


@contextlib.contextmanager
def running_prometheus(
    workdir: Path,
    scenarios: Iterable[Scenario] | None = None,
    now: int | None = None,
    openmetrics: str | None = None,
) -> Iterator[PrometheusServer]:
    server = start_prometheus(workdir, scenarios, now, openmetrics)
    try:
        yield server
    finally:
        server.stop()


# --- fixtures: Prometheus ----------------------------------------------------------------------


def _require_binaries() -> None:
    """Fail (never skip) without the binaries: a skipped analysis suite would pass silently."""
    problem = None
    try:
        binaries()
    except MissingBinary as error:
        problem = str(error)
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def prometheus_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., PrometheusServer]]:
    """`factory(scenarios=None, now=None)` -> a started `PrometheusServer`, stopped at the end
    of the session (or earlier by `server.stop()`)."""
    _require_binaries()
    started: list[PrometheusServer] = []

    def factory(
        scenarios: Iterable[Scenario] | None = None,
        now: int | None = None,
        openmetrics: str | None = None,
    ) -> PrometheusServer:
        server = start_prometheus(
            tmp_path_factory.mktemp("prometheus"), scenarios, now, openmetrics
        )
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def prometheus(prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    """One shared Prometheus with every scenario; tests must not stop it."""
    return prometheus_factory()


# --- fixtures: what stands in front of Prometheus ----------------------------------------------


@dataclass
class AuthProxy:
    """A reverse proxy demanding credentials; `seen` holds each request's headers."""

    url: str
    server: ThreadingHTTPServer
    seen: list[dict[str, str]] = field(default_factory=list)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def self_signed_cert(directory: Path) -> TlsFiles:
    """A certificate for 127.0.0.1, valid for a day, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "model-bot test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def start_auth_proxy(
    upstream: str,
    *,
    token: str | None = None,
    basic: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    tls: TlsFiles | None = None,
    leak_status: int | None = None,
    delay: float = 0.0,
) -> AuthProxy:
    """Forward GET/POST to `upstream` when the request carries what is demanded, else 401.

    Rejections echo the presented `Authorization` header in the body, as careless proxies do,
    so tests can check the bot never repeats it. With `leak_status` every request is answered
    with that status and the echo, credentials right or wrong. `delay` holds every answer
    back that many seconds (to see whether requests overlap).
    """
    required = dict(headers or {})
    if token is not None:
        required["Authorization"] = f"Bearer {token}"
    if basic is not None:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        required["Authorization"] = f"Basic {pair}"
    target = urlsplit(upstream)
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            seen.append(dict(self.headers.items()))
            if delay:
                time.sleep(delay)
            length = int(self.headers.get("Content-Length") or 0)
            payload = self.rfile.read(length) if length else None
            presented = self.headers.get("Authorization", "")
            if leak_status is not None or any(
                self.headers.get(k) != v for k, v in required.items()
            ):
                status = leak_status or 401
                error = {
                    "status": "error",
                    "errorType": "unauthorized" if status == 401 else "internal",
                    "error": f"rejected credentials {presented!r}",
                }
                self._answer(status, json.dumps(error).encode(), "application/json")
                return
            connection = http.client.HTTPConnection(
                target.hostname or "127.0.0.1", target.port, timeout=30
            )
            try:
                forward = {"Content-Type": self.headers.get("Content-Type", "")}
                connection.request(self.command, self.path, body=payload, headers=forward)
                response = connection.getresponse()
                body = response.read()
                self._answer(
                    response.status,
                    body,
                    response.getheader("Content-Type") or "application/json",
                )
            finally:
                connection.close()

        do_GET = _handle
        do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert, tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return AuthProxy(f"{scheme}://127.0.0.1:{server.server_address[1]}", server, seen)


@pytest.fixture
def auth_proxy_factory() -> Iterator[Callable[..., AuthProxy]]:
    """`factory(upstream, token=, basic=(user, pw), headers={...}, tls=, leak_status=, delay=)`."""
    started: list[AuthProxy] = []

    def factory(upstream: str, **kwargs: object) -> AuthProxy:
        proxy = start_auth_proxy(upstream, **kwargs)  # type: ignore[arg-type]
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """The URL of a server that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    listener.close()
