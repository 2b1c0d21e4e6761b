"""Prometheus adapter: the only module that talks to Prometheus (via prometheus-api-client).

`fetch_ranges` issues one range query per metric, all at once on a small thread pool, and
returns our own `QueryResult`s. Nothing escapes as an exception: connection refused, a
timeout, TLS trouble, HTTP 4xx/5xx or a bad query become a `QueryResult` with an `error`
that names the problem and how to fix it, and never contains a credential: the settings'
secrets are redacted, and so is any URL in it (userinfo and secret query parameters,
`bot.text.redact`), as in the graph links.
"""

from __future__ import annotations

import base64
import math
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from urllib3.util.retry import Retry

from bot.core.analysis import QueryResult, RangeQuery, Sample, Series
from bot.core.errors import UsageError
from bot.core.expressions import format_number
from bot.text.redact import redact, redact_url, redact_urls_in

TOKEN_ENV = "PROMETHEUS_TOKEN"  # noqa: S105 - the name of a variable, not a secret
USERNAME_ENV = "PROMETHEUS_USERNAME"
PASSWORD_ENV = "PROMETHEUS_PASSWORD"  # noqa: S105 - likewise
DEFAULT_TIMEOUT = 10.0
MAX_WORKERS = 8

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_SECRET_HEADER = re.compile(r"auth|token|key|secret|cookie|session|password", re.IGNORECASE)
_MAX_DETAIL = 300


@dataclass(frozen=True)
class PrometheusSettings:
    """Where Prometheus is and how to reach it. Credentials never appear in `repr`."""

    url: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    ca_bundle: str | None = None
    verify_tls: bool = True
    timeout: float = DEFAULT_TIMEOUT
    retries: int = 1

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                "the Prometheus URL must be http(s)://host[:port][/prefix], "
                "e.g. http://prometheus.monitoring.svc:9090"
            )
        if parts.username is not None or parts.password is not None:
            raise UsageError(
                "the Prometheus URL must not hold credentials; set "
                f"{USERNAME_ENV}/{PASSWORD_ENV} or {TOKEN_ENV} instead"
            )
        if parts.query or parts.fragment:
            raise UsageError("the Prometheus URL must not have a ?query or #fragment")
        if self.token is not None and (self.username is not None or self.password is not None):
            raise UsageError(
                f"set either {TOKEN_ENV} (bearer) or {USERNAME_ENV}/{PASSWORD_ENV} (basic), "
                "not both"
            )
        if (self.username is None) != (self.password is None):
            raise UsageError(f"basic auth needs both {USERNAME_ENV} and {PASSWORD_ENV}")
        if not 0 < self.timeout <= 300 or math.isnan(self.timeout):
            raise UsageError("the Prometheus timeout must be between 0 and 300 seconds")
        if self.ca_bundle is not None and not self.verify_tls:
            raise UsageError("give a CA bundle or turn TLS verification off, not both")
        if not 0 <= self.retries <= 5:
            raise UsageError("Prometheus retries must be between 0 and 5")
        for name, value in self.headers:
            _check_header(name, value)

    @classmethod
    def from_env(
        cls,
        url: str,
        env: Mapping[str, str],
        *,
        headers: Sequence[str] = (),
        ca_bundle: str | None = None,
        verify_tls: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> PrometheusSettings:
        """Settings with credentials from `env` (`PROMETHEUS_TOKEN`, or `PROMETHEUS_USERNAME`
        and `PROMETHEUS_PASSWORD`) and headers given as `'Name: value'` texts."""
        if ca_bundle is not None and not Path(ca_bundle).is_file():
            raise UsageError(f"CA bundle {ca_bundle} is not a file (give a PEM file)")
        return cls(
            url=url.rstrip("/"),
            token=env.get(TOKEN_ENV) or None,
            username=env.get(USERNAME_ENV) or None,
            password=env.get(PASSWORD_ENV) or None,
            headers=tuple(parse_header(h) for h in headers),
            ca_bundle=ca_bundle,
            verify_tls=verify_tls,
            timeout=timeout,
        )

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    def secrets(self) -> tuple[str, ...]:
        """Every text that must never show up in a message."""
        found = [s for s in (self.token, self.password) if s]
        if self.username is not None and self.password is not None:
            pair = f"{self.username}:{self.password}".encode()
            found.append(base64.b64encode(pair).decode())
        found += [v for n, v in self.headers if _SECRET_HEADER.search(n) and v]
        return tuple(sorted(set(found), key=len, reverse=True))

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def _check_header(name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise UsageError(f"bad HTTP header name {name!r} (e.g. X-Scope-OrgID)")
    if any(c in value for c in "\r\n\0"):
        raise UsageError(f"the value of header {name} must be one line")


def parse_header(text: str) -> tuple[str, str]:
    """`'X-Scope-OrgID: team-a'` -> `('X-Scope-OrgID', 'team-a')` (for `--prometheus-header`)."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError("a Prometheus header must be 'Name: value', e.g. 'X-Scope-OrgID: team-a'")
    _check_header(name.strip(), value.strip())
    return name.strip(), value.strip()


# --- links -----------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    """Prometheus' duration text: `300` -> `5m`, `5400` -> `1h30m`, `90` -> `1m30s`."""
    left = max(round(seconds), 1)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            out += f"{left // size}{unit}"
            left %= size
    return out


def graph_url(base_url: str, query: str, start: float, end: float, step: float) -> str:
    """A link to the Prometheus graph of `query` over the window (one step of margin).

    `base_url` is the settings' URL, which never holds credentials (and is redacted anyway).
    """
    moment = datetime.fromtimestamp(end, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    params = [
        ("g0.expr", query),
        ("g0.tab", "0"),
        ("g0.stacked", "0"),
        ("g0.range_input", _duration(end - start + step)),
        ("g0.end_input", moment),
        ("g0.moment_input", moment),
        ("g0.step_input", format_number(float(step))),
    ]
    encoded = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return f"{redact_url(base_url).rstrip('/')}/graph?{encoded}"


# --- fetching --------------------------------------------------------------------------------


def _series(raw: Any) -> tuple[Series, ...]:
    out = []
    for item in raw or ():
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        points = item.get("values")
        if points is None and item.get("value") is not None:
            points = [item["value"]]
        samples = [Sample(float(t), _float(v)) for t, v in points or ()]
        out.append(Series.of(labels, samples))
    return tuple(out)


def _float(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _http_error(status: int, body: Any, where: str) -> str:
    detail = ""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        kind = body.get("errorType")
        detail = f"{kind}: {body['error']}" if isinstance(kind, str) else body["error"]
        detail = detail[:_MAX_DETAIL]
    if status in (401, 403):
        return (
            f"Prometheus at {where} refused the request (HTTP {status}); check "
            f"{TOKEN_ENV} or {USERNAME_ENV}/{PASSWORD_ENV} and tenant headers"
        )
    if status in (400, 422):
        return f"Prometheus rejected the query (HTTP {status}{', ' + detail if detail else ''})"
    if status == 404:
        return f"no Prometheus API at {where} (HTTP 404); give the URL Prometheus' API is under"
    if status == 429:
        return f"Prometheus at {where} is rate limiting (HTTP 429); try again later"
    if status >= 500:
        return f"Prometheus at {where} failed (HTTP {status}{', ' + detail if detail else ''})"
    return f"unexpected answer from Prometheus at {where} (HTTP {status})"


def _scrub(settings: PrometheusSettings, error: str) -> str:
    """An error as shown: without the settings' secrets, and with every URL in it redacted."""
    return redact_urls_in(redact(error, settings.secrets()))


class _Client:
    """One worker thread's client: a session kept alive across its queries (a connection
    per thread, not per query) and the responses it saw, for error messages."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self.responses: list[requests.Response] = []
        session = requests.Session()
        session.verify = settings.ca_bundle or settings.verify_tls
        session.hooks["response"].append(
            lambda response, *args, **kwargs: self.responses.append(response)
        )
        retry = Retry(
            total=settings.retries,
            connect=settings.retries,
            read=False,  # a read timeout is re-raised as such (and a query never sent twice)
            status=0,
            other=0,
            backoff_factor=0.2,
            raise_on_status=False,
        )
        auth: Any = (  # the library annotates `tuple`, but takes None for "no auth"
            (settings.username, settings.password)
            if settings.username is not None and settings.password is not None
            else None
        )
        self.connection = PrometheusConnect(
            url=settings.base_url,
            headers=settings.request_headers(),
            retry=retry,
            auth=auth,
            session=session,
            timeout=settings.timeout,  # type: ignore[arg-type]  # requests takes a float
        )

    def close(self) -> None:
        self.connection.close()


def _one(settings: PrometheusSettings, request: RangeQuery, client: _Client) -> QueryResult:
    """One range query; every failure becomes `QueryResult.error`."""
    where = redact_url(settings.base_url)  # for messages; the client gets the URL itself
    link = graph_url(where, request.query, request.start, request.end, request.step)
    client.responses.clear()
    responses = client.responses
    try:
        raw = client.connection.custom_query_range(
            request.query,
            start_time=datetime.fromtimestamp(request.start, tz=timezone.utc),
            end_time=datetime.fromtimestamp(request.end, tz=timezone.utc),
            step=format_number(float(request.step)),
            params={"timeout": format_number(float(settings.timeout))},
        )
        return QueryResult(request.query, _series(raw), graph_url=link)
    except PrometheusApiClientException:
        response = responses[-1] if responses else None
        if response is None:
            error = f"unexpected answer from Prometheus at {where}"
        else:
            try:
                body = response.json()
            except ValueError:
                body = None
            error = _http_error(response.status_code, body, where)
    except requests.exceptions.SSLError:
        error = (
            f"TLS verification failed for {where} (give the CA bundle that signed its "
            "certificate, or turn TLS verification off)"
        )
    except requests.exceptions.Timeout:
        error = f"Prometheus at {where} did not answer within {format_number(float(settings.timeout))} s"
    except requests.exceptions.ConnectionError:
        error = f"cannot connect to Prometheus at {where} (is it running and reachable?)"
    except (ValueError, KeyError, TypeError):
        error = f"the answer from {where} is not a Prometheus API response (check the URL)"
    except Exception as unexpected:  # noqa: BLE001 - a fetch never raises; the type is enough
        error = f"error talking to Prometheus at {where}: {type(unexpected).__name__}"
    return QueryResult(request.query, (), _scrub(settings, error), link)


def fetch_ranges(
    settings: PrometheusSettings, queries: Mapping[str, RangeQuery]
) -> dict[str, QueryResult]:
    """Run every range query concurrently, one round trip each; never raises.

    The whole fetch is bounded by the timeout (plus a little grace): a query still running
    then is reported as timed out.
    """
    if not queries:
        return {}
    pool = ThreadPoolExecutor(
        max_workers=min(MAX_WORKERS, len(queries)), thread_name_prefix="prometheus"
    )
    futures: dict[str, Future[QueryResult]] = {}
    local = threading.local()
    clients: list[_Client] = []
    lock = threading.Lock()

    def run(request: RangeQuery) -> QueryResult:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = _Client(settings)
            with lock:
                clients.append(client)
        return _one(settings, request, client)

    try:
        for name, request in queries.items():
            futures[name] = pool.submit(run, request)
        wait(futures.values(), timeout=settings.timeout + 1.0)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for client in clients:
                client.close()
    results = {}
    for name, future in futures.items():
        request = queries[name]
        if future.done() and not future.cancelled():
            results[name] = future.result()
        else:
            results[name] = QueryResult(
                request.query,
                (),
                _scrub(
                    settings,
                    f"Prometheus at {settings.base_url} did not answer within "
                    f"{format_number(float(settings.timeout))} s",
                ),
                graph_url(
                    settings.base_url, request.query, request.start, request.end, request.step
                ),
            )
    return results


def fetch(
    settings: PrometheusSettings,
    queries: Mapping[str, str],
    start: float,
    end: float,
    step: float,
) -> dict[str, QueryResult]:
    """Range queries over one window (unix seconds), concurrently; see `fetch_ranges`."""
    return fetch_ranges(
        settings, {name: RangeQuery(query, start, end, step) for name, query in queries.items()}
    )


__all__ = [
    "PASSWORD_ENV",
    "TOKEN_ENV",
    "USERNAME_ENV",
    "PrometheusSettings",
    "fetch",
    "fetch_ranges",
    "graph_url",
    "parse_header",
]


class PrometheusSource:
    """The `MetricSource` port over one Prometheus server."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings

    def fetch_ranges(self, queries: Mapping[str, RangeQuery]) -> dict[str, QueryResult]:
        return fetch_ranges(self.settings, queries)
