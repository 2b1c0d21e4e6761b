"""One redaction helper and one placeholder: secrets, URLs, URLs inside text, and the canary
analysis text that prints the Prometheus URL and graph links."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from bot.core.canary import AnalyzeResult
from bot.text.analysis import evidence_markdown, result_json, verdict_text
from bot.text.redact import (
    REDACTED,
    SECRET_PARAMETERS,
    is_secret_parameter,
    redact,
    redact_url,
    redact_urls_in,
    url_secrets,
)
from tests.text.test_analysis import CANARY, measurement, verdict


def test_every_secret_is_replaced_longest_first() -> None:
    assert redact("token abc and abcdef", ["abc", "abcdef"]) == f"token {REDACTED} and {REDACTED}"
    assert redact("nothing here", ["", "zzz"]) == "nothing here"
    assert REDACTED == "***"


KEPT = object()  # the URL comes back unchanged
# Beside each case, a URL that holds secrets: whatever is kept, this one must not be.
LEAKY = "http://u:pw@h:1/?token=t&q=1"
LEAKY_SHOWN = "http://***@h:1/?token=***&q=1"

URLS: list[tuple[str, str | object]] = [
    # -- nothing to hide: unchanged, byte for byte
    ("https://host/repo.git", KEPT),
    ("file:///srv/env.git", KEPT),
    ("git@github.com:acme/env.git", KEPT),
    ("http://prom:9090/graph?g0.expr=sum%28x%29&g0.tab=0", KEPT),
    ("http://mlflow:5000/#/experiments/1/runs/abc", KEPT),
    ("http://host/search?q=a@b.example&page=2", KEPT),
    ("http://host/?token=", KEPT),  # an empty value hides nothing
    ("http://[::1]:9090/api/v1/query", KEPT),
    # -- userinfo: user only (a token as the user name), user:password, odd passwords
    ("https://token@host/p", "https://***@host/p"),
    ("https://user:secret@host:8443/p", "https://***@host:8443/p"),
    ("http://alice:s3cr3t-pass@127.0.0.1:5000", "http://***@127.0.0.1:5000"),
    ("http://alice:p@ss@host/x", "http://***@host/x"),  # an unescaped @ in the password
    ("http://alice:s3c#ret@host/x", "http://***@host/x"),  # an unescaped # too
    ("http://alice:%2Fp%40ss@host", "http://***@host"),
    ("ssh://git@github.com/acme/env.git", "ssh://***@github.com/acme/env.git"),
    ("postgresql://mlflow:pw@db:5432/mlflow", "postgresql://***@db:5432/mlflow"),
    ("//user:pw@host/p", "//***@host/p"),
    # -- query tokens among harmless parameters: values blanked, names kept, any case
    ("http://h/api?token=abc123", "http://h/api?token=***"),
    ("http://h/api?a=1&Token=abc&b=2", "http://h/api?a=1&Token=***&b=2"),
    (
        "http://h/?access_token=x&api_key=y&APIKEY=z&key=k",
        "http://h/?access_token=***&api_key=***&APIKEY=***&key=***",
    ),
    (
        "http://h/?password=p;secret=s&sig=g&signature=q&auth=a",
        "http://h/?password=***;secret=***&sig=***&signature=***&auth=***",
    ),
    (
        "https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F2024"
        "&X-Amz-Date=20240101&X-Amz-Signature=deadbeef",
        "https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=***"
        "&X-Amz-Date=20240101&X-Amz-Signature=***",
    ),
    (
        "http://h/?client_secret=c&refresh_token=r&X-Goog-Signature=g&state=ok",
        "http://h/?client_secret=***&refresh_token=***&X-Goog-Signature=***&state=ok",
    ),
    ("http://h/?api%5Fkey=encoded", "http://h/?api%5Fkey=***"),
    # -- fragments: parameters in a fragment are redacted, a fragment path is kept
    ("http://h/cb#access_token=abc&state=xyz", "http://h/cb#access_token=***&state=xyz"),
    ("http://h/?token=t#/experiments/1", "http://h/?token=***#/experiments/1"),
    ("http://h/#/runs/1?sig=s", "http://h/#/runs/1?sig=***"),
    # -- IPv6 hosts
    ("http://u:p@[::1]:8080/x?token=t", "http://***@[::1]:8080/x?token=***"),
    ("http://[fe80::1%25eth0]:9090/?key=k", "http://[fe80::1%25eth0]:9090/?key=***"),
    # -- both at once
    ("https://u:pw@h:1/p?token=t&x=1#k", "https://***@h:1/p?token=***&x=1#k"),
]


@pytest.mark.parametrize(("url", "expected"), URLS, ids=[u for u, _ in URLS])
def test_redact_url(url: str, expected: str | object) -> None:
    shown = url if expected is KEPT else expected
    assert redact_url(url) == shown
    assert redact_url(str(shown)) == shown  # idempotent
    assert redact_urls_in(url) == shown  # a URL alone is a text with one URL in it
    assert redact_urls_in(f"{url} and {LEAKY}") == f"{shown} and {LEAKY_SHOWN}"


@pytest.mark.parametrize("name", sorted(SECRET_PARAMETERS))
def test_every_listed_parameter_is_secret_whatever_its_case(name: str) -> None:
    assert is_secret_parameter(name) and is_secret_parameter(name.upper())
    assert redact_url(f"http://h/?{name.title()}=v1&q=v2") == f"http://h/?{name.title()}=***&q=v2"


@pytest.mark.parametrize("name", ["q", "page", "state", "g0.expr", "keyword", "monkey", "code"])
def test_harmless_parameters_are_kept(name: str) -> None:
    assert not is_secret_parameter(name)
    assert redact_url(f"http://h/?{name}=v&token=t") == f"http://h/?{name}=v&token=***"


TEXTS = [
    # (text, redacted)
    (
        "API request to http://alice:s3cr3t@127.0.0.1:5000/api/2.0/mlflow/x failed",
        "API request to http://***@127.0.0.1:5000/api/2.0/mlflow/x failed",
    ),
    (
        "Max retries exceeded with url: /api/2.0/get?name=m&token=tok123 (Caused by X)",
        "Max retries exceeded with url: /api/2.0/get?name=m&token=*** (Caused by X)",
    ),
    (
        "unsupported URI 'postgresql://u:pw@db/mlflow' and \"https://T0KEN@h/?sig=s&a=1\"",
        "unsupported URI 'postgresql://***@db/mlflow' and \"https://***@h/?sig=***&a=1\"",
    ),
    (
        "two: http://a:b@h1/x, https://h2/?key=k\nand ftp://c@h3",
        "two: http://***@h1/x, https://h2/?key=***\nand ftp://***@h3",
    ),
    (
        "(see [graph](http://u:p@prom/graph?g0.expr=x))",
        "(see [graph](http://***@prom/graph?g0.expr=x))",
    ),
    ("at http://[::1]:9/?access_token=a.b-c_d~e", "at http://[::1]:9/?access_token=***"),
]
UNCHANGED = [
    "",
    "connection refused",
    "mail alice@example.com about it",
    "git@github.com:acme/env.git: permission denied",
    "a // comment with user@host in it",
    "ratio 3/4 key=value token=plain (not after ? or &)",
    "http://host:9090/api/v1/query_range?query=up&step=60 answered 500",
    "models:/fraud-detector/7 not found; see http://mlflow:5000/#/experiments/1/runs/r",
    'sum(rate(http_requests_total{code=~"5.."}[2m]))',
]


@pytest.mark.parametrize(("text", "expected"), TEXTS)
def test_redact_urls_in_text(text: str, expected: str) -> None:
    assert redact_urls_in(text) == expected
    assert redact_urls_in(expected) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact_urls_in(text) == text
    assert redact_url(text) == text
    assert redact_urls_in(f"{text} ({LEAKY})") == f"{text} ({LEAKY_SHOWN})"


def basic(pair: str) -> str:
    """The `Authorization: Basic` value an HTTP client sends for `user:password`."""
    return base64.b64encode(pair.encode()).decode()


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("http://alice:s3cr3t@h", ("s3cr3t", basic("alice:s3cr3t"))),
        ("https://T0KEN@h/p", ("T0KEN", basic("T0KEN:"))),
        (
            "http://u:p%40ss@h/?token=a%2Fb&x=1",
            ("a%2Fb", "p%40ss", "a/b", "p@ss", basic("u:p@ss")),
        ),
        ("http://h/?api_key=k1#sig=k2&state=s", ("k1", "k2")),
    ],
)
def test_url_secrets(url: str, secrets: tuple[str, ...]) -> None:
    assert sorted(url_secrets(url)) == sorted(secrets)
    echoed = f"{url} rejected credentials 'Basic {basic('u:p@ss')}' {' '.join(secrets)}"
    shown = redact(redact_urls_in(echoed), url_secrets(url))
    assert not any(s in shown for s in secrets), shown
    assert set(url_secrets("http://alice@mlflow:5000/?q=1")) == {"alice", basic("alice:")}
    assert url_secrets("http://mlflow:5000/#/experiments/1?state=s") == ()


# --------------------------------------------------------------------------- analysis text

PROMETHEUS = "http://alice:s3cr3t-pass@prom.example:9090"
GRAPH = f"{PROMETHEUS}/graph?g0.expr=up&token=tok-s3cr3t"


def test_the_analysis_text_never_prints_a_prometheus_credential() -> None:
    canary = replace(CANARY, prometheus_url=f"{PROMETHEUS}/?api_key=key-s3cr3t")
    judged = verdict(measurement(graph_url=GRAPH))
    result = AnalyzeResult(canary, judged, evidence_markdown(judged, canary), "none", "unchanged")
    texts = {
        "evidence": evidence_markdown(judged, canary),
        "terminal": verdict_text(judged, canary),
        "json": result_json(result),
    }
    for name, text in texts.items():
        assert "s3cr3t" not in text, (name, text)
        assert "prom.example:9090" in text, name  # the host is still shown
    assert "prometheus: http://***@prom.example:9090/?api_key=*** at " in texts["terminal"]
    assert "graph:     http://***@prom.example:9090/graph?g0.expr=up&token=***" in texts["terminal"]
    assert (
        "[Prometheus graph](http://***@prom.example:9090/graph?g0.expr=up&token=***)"
        in (texts["evidence"])
    )
    data = json.loads(texts["json"])
    assert data["prometheus_url"] == "http://***@prom.example:9090/?api_key=***"
    assert data["verdict"]["measurements"][0]["graph_url"].endswith("&token=***")
