"""The Prometheus options of `analyze` and `monitor`, and the metric source they build."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from bot.ports import MetricSource

F = TypeVar("F", bound=Callable[..., object])

# Read by bot.adapters.prometheus.PrometheusSettings.from_env; only these reach the analysis.
PROMETHEUS_CREDENTIALS = ("PROMETHEUS_TOKEN", "PROMETHEUS_USERNAME", "PROMETHEUS_PASSWORD")


def prometheus_options(command: F) -> F:
    """`--prometheus-url`, `--prometheus-header`, `--prometheus-ca`, `--prometheus-insecure`,
    `--prometheus-timeout`."""
    options = [
        click.option(
            "--prometheus-url",
            envvar="PROMETHEUS_URL",
            metavar="URL",
            help="Prometheus base URL. [default: $PROMETHEUS_URL, else prometheus_address of the "
            "environment (or the top level) in the env repo's .model-bot.yaml]",
        ),
        click.option(
            "--prometheus-header",
            "prometheus_headers",
            multiple=True,
            metavar="'NAME: VALUE'",
            help="Extra request header, e.g. a tenant ('X-Scope-OrgID: team-a'); repeatable. "
            "Credentials: $PROMETHEUS_TOKEN, or $PROMETHEUS_USERNAME and $PROMETHEUS_PASSWORD.",
        ),
        click.option(
            "--prometheus-ca",
            type=click.Path(dir_okay=False, path_type=Path),
            help="CA bundle (PEM) that signed Prometheus' certificate.",
        ),
        click.option("--prometheus-insecure", is_flag=True, help="Do not verify Prometheus' TLS."),
        click.option(
            "--prometheus-timeout",
            type=click.FloatRange(0.1, 300),
            default=10.0,
            show_default=True,
            help="Give up on each query after this many seconds.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def metric_source_factory(
    headers: tuple[str, ...], ca: Path | None, insecure: bool, timeout: float
) -> Callable[[str], MetricSource]:
    """Prometheus URL -> its metric source, with the options' settings and the credentials
    of the environment."""
    from bot.adapters.prometheus import PrometheusSettings, PrometheusSource

    environ = {k: os.environ[k] for k in PROMETHEUS_CREDENTIALS if k in os.environ}

    def metric_source(url: str) -> MetricSource:
        return PrometheusSource(
            PrometheusSettings.from_env(
                url,
                environ,
                headers=headers,
                ca_bundle=str(ca) if ca else None,
                verify_tls=not insecure,
                timeout=timeout,
            )
        )

    return metric_source
