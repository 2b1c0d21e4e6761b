"""The Prometheus adapter never shows a credential in a `QueryResult`: not the settings'
secrets, and not one in a URL that Prometheus (or a query frontend before it: Thanos, Mimir)
echoes in its error, and its graph links never carry one."""

from __future__ import annotations

import json

import pytest

from bot.adapters.prometheus import PrometheusSettings, fetch_ranges, graph_url
from bot.core.analysis import RangeQuery
from tests.adapters.test_mlflow_redaction import Stub, stub  # noqa: F401 - the fixture

UPSTREAM = "http://bob:hunter2-s3cr3t@thanos-store:10901/api/v1/query_range?token=tok-s3cr3t&x=1"


def prometheus_error(status: int, kind: str, text: str) -> tuple[int, str, str]:
    body = {"status": "error", "errorType": kind, "error": text}
    return status, "application/json", json.dumps(body)


@pytest.mark.parametrize(
    ("status", "kind", "shown"),
    [
        (500, "internal", "failed (HTTP 500, internal: upstream http://***@thanos-store"),
        (503, "unavailable", "failed (HTTP 503, unavailable: upstream http://***@thanos-store"),
        (400, "bad_data", "rejected the query (HTTP 400, bad_data: upstream http://***@thanos"),
        (422, "execution", "rejected the query (HTTP 422, execution: upstream http://***@"),
    ],
)
def test_an_error_echoing_a_url_shows_it_redacted(
    stub: Stub,  # noqa: F811 - the fixture
    status: int,
    kind: str,
    shown: str,
) -> None:
    stub.answer = lambda path: prometheus_error(status, kind, f"upstream {UPSTREAM} failed")
    settings = PrometheusSettings(url=f"http://127.0.0.1:{stub.port}", timeout=2, retries=0)
    results = fetch_ranges(settings, {"m": RangeQuery("up", 1000.0, 1300.0, 60.0)})
    error = results["m"].error
    assert error is not None and shown in error, error
    assert "s3cr3t" not in error, error
    assert "token=***&x=1" in error, error


def test_graph_links_hold_no_credentials() -> None:
    for base in (
        "http://alice:s3cr3t@prom:9090",
        "http://prom:9090/?token=s3cr3t",
        "http://s3cr3t@prom:9090/",
    ):
        link = graph_url(base, 'sum(rate(x{token="a"}[2m]))', 1000.0, 1300.0, 60.0)
        assert "s3cr3t" not in link, link
        assert "prom:9090" in link and "/graph?g0.expr=sum%28rate%28x%7Btoken%3D%22a" in link
