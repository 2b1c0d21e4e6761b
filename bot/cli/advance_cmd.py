"""`model-bot advance`: promote what soaked in one environment into the next one."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import click

from bot.cli.commit_mode import commit_mode_option
from bot.cli.common import github_options, github_token, parse_moment, write_outputs
from bot.core.errors import EXIT_NO


@click.command("advance")
@github_options
@commit_mode_option
@click.option("--from", "from_environment", required=True, help="The environment that soaked.")
@click.option("--model", help="Only this model. [default: every model in --from]")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy YAML: the soak's analysis and the next environment's gates.",
)
@click.option("--prometheus-url", envvar="PROMETHEUS_URL", help="Prometheus for the soak analysis.")
@click.option("--at", "at", metavar="TIME", help="Decide as of TIME instead of now.")
@click.option("--dry-run", is_flag=True, help="Decide and print; change nothing anywhere.")
@click.pass_context
def advance(
    ctx: click.Context,
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    from_environment: str,
    model: str | None,
    policy_path: Path,
    prometheus_url: str | None,
    at: str | None,
    dry_run: bool,
) -> None:
    """For every model in --from whose soak is over and healthy, propose the same artifact
    (image, tag or digest, model URI, its committed evidence gated again) to the next
    environment (`environments.<from>.next`). One line per model and target: created |
    updated | unchanged | blocked, with the reason (soak not over: until when; the soak
    analysis failed; held; frozen or outside a window: when it opens). Exit 1 when any is
    blocked.
    """
    from bot.adapters.prometheus import PrometheusSettings, PrometheusSource
    from bot.cli.session import forge_opener, session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.canary import Canary
    from bot.core.config import BotConfig
    from bot.core.evidence import Evidence
    from bot.core.names import require_environment, require_model
    from bot.core.policy import load_policy
    from bot.core.queries import QueryContext
    from bot.core.render import query_context
    from bot.flows.advance import AdvanceOptions, Proposal, SoakVerdict
    from bot.flows.advance import advance as run_advance
    from bot.flows.analyze import run_analysis
    from bot.flows.promote import PromoteOptions
    from bot.flows.promote import promote as run_promote
    from bot.text.analysis import evidence_markdown

    require_environment(from_environment)
    if model is not None:
        require_model(model)
    target = parse_env_repo(env_repo, github_api_url)
    policy = load_policy(policy_path)
    token = github_token()
    opener = session_opener(target, base=base, token=token)
    now = parse_moment(at) if at else None
    environ = {k: os.environ[k] for k in ("PROMETHEUS_TOKEN", "PROMETHEUS_USERNAME",
                                          "PROMETHEUS_PASSWORD") if k in os.environ}  # fmt: skip

    def judge(config: BotConfig, name: str, environment: str, version: str,
              files: dict[str, bytes], when: datetime) -> SoakVerdict:  # fmt: skip
        env_config = config.environment(environment)
        url = prometheus_url or env_config.prometheus_address or config.prometheus_address
        context: QueryContext = query_context(config, name, environment)
        source = PrometheusSource(PrometheusSettings.from_env(url, environ))
        verdict = run_analysis(policy, context, source, when, files)
        canary = Canary(name, environment, version, None, context.namespace, url)
        return SoakVerdict(verdict.phase, verdict.summary, evidence_markdown(verdict, canary, 4))

    def propose(evidence: Evidence, environment: str, context_markdown: str) -> Proposal:
        options = PromoteOptions(
            environment=environment,
            dry_run=dry_run,
            policy_source=str(policy_path),
            local=target.is_local,
            env_repo=None if target.is_local else target.repo,
            now=now,
            context_markdown=context_markdown,
        )
        result = run_promote(
            evidence,
            policy,
            options,
            opener,
            forge_for=forge_opener(token, github_api_url or target.api_url),
        )
        return Proposal(result.outcome, result.reason, result.pull_request)

    lines = run_advance(
        AdvanceOptions(from_environment=from_environment, model=model, dry_run=dry_run, now=now),
        opener,
        judge_soak=judge,
        run_promote=propose,
    )
    for line in lines:
        click.echo(str(line))
    write_outputs(
        {
            "advanced": json.dumps(
                [
                    {
                        "model": line.model,
                        "from": line.from_environment,
                        "to": line.to_environment,
                        "version": line.version,
                        "outcome": line.outcome,
                        "reason": line.reason,
                        "pull_request": line.pull_request.number if line.pull_request else None,
                    }
                    for line in lines
                ]
            ),
        }
    )
    if any(line.outcome == "blocked" for line in lines):
        ctx.exit(EXIT_NO)
