"""The MLflow registry follows what is deployed (`.model-bot.yaml` `registry:`).

For a model in an environment with an alias (`registry.aliases`, `production: champion`):
the deployment ledger (`bot.flows.ledger`) says which version runs; the alias is moved to it
(`bot.core.registry.plan_alias`), and, with `tag_versions`, that version is tagged as
deployed (when it landed, the commit, the pull request) and every version a rollback holds
as rolled back (when, and why). What the registry already says is left as it is, so running
again changes nothing, and an alias someone moved by hand is put back.

* `sync_registry`: every model of every aliased environment (`model-bot registry sync`);
* `follow_merge`: one model in one environment, when its promotion or rollback merged (or
  its rollout completed): the event flow calls it.

The registry is the `bot.ports.Registry` the caller built (the CLI builds the MLflow
adapter); this flow never imports an adapter. A version the registry does not hold (a model
not registered in MLflow, an image tag that is no MLflow version) is skipped and said so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.config import CONFIG_FILE, BotConfig, RegistryConfig
from bot.core.errors import InvalidInput
from bot.core.ledger import LandedCommit
from bot.core.registry import deployment_tags, missing_tags, plan_alias, rollback_tags
from bot.core.untrusted import one_line, truncate
from bot.flows.ledger import deployment_at_head, landed_commits, model_folders, read_ledger
from bot.flows.session import check_environment
from bot.ports import EnvSession, Registry

SyncOutcome = Literal["moved", "unchanged", "tagged", "skipped"]
REASON_SHOWN = 120  # characters of a rollback's reason on its line (the tag holds it whole)


@dataclass(frozen=True)
class SyncLine:
    """One thing the registry sync did (or, in a dry run, would do), printed as one line:

    * `fraud-detector production champion: 6 -> 7` (moved; `none -> 7`: the alias was unset)
    * `fraud-detector production champion: 7 unchanged`
    * `fraud-detector production: tagged version 7 as deployed`
    * `fraud-detector production: tagged version 8 as rolled back (error rate 5%)`
    * `neighbour production champion: skipped (version 9 is not in the registry)`
    """

    model: str | None  # None: the line is about the whole environment
    environment: str
    outcome: SyncOutcome
    alias: str | None = None
    version: str | None = None  # where the alias points (now), or the version tagged
    previous: str | None = None  # where the alias pointed before it moved
    note: str = ""  # what a tag line marked, why a line was skipped
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """Whether the registry was (or, in a dry run, would be) written."""
        return self.outcome in ("moved", "tagged")

    def __str__(self) -> str:
        head = " ".join(p for p in (self.model, self.environment, self.alias) if p)
        suffix = " (dry run)" if self.dry_run and self.changed else ""
        if self.outcome == "moved":
            return f"{head}: {self.previous or 'none'} -> {self.version}{suffix}"
        if self.outcome == "unchanged":
            return f"{head}: {self.version} unchanged"
        if self.outcome == "tagged":
            return f"{head}: tagged version {self.version} as {self.note}{suffix}"
        return f"{head}: skipped ({self.note})"


LineSink = Callable[[SyncLine], None]


def registry_settings(config: BotConfig) -> RegistryConfig:
    """The `registry` section; InvalidInput when the env repo has none."""
    if config.registry is None:
        raise InvalidInput.one(
            CONFIG_FILE,
            "registry",
            "not configured: the registry is left alone (add `registry: {aliases: "
            "{production: champion}}` to move aliases as deployments land)",
        )
    return config.registry


def sync_registry(
    session: EnvSession,
    config: BotConfig,
    registry: Registry,
    environments: Sequence[str] | None = None,
    dry_run: bool = False,
    *,
    on_line: LineSink | None = None,
) -> list[SyncLine]:
    """Make the registry say what the env repo's base deploys: for every model in every
    environment of `registry.aliases` (or only `environments`, which must be among them),
    move the alias to the version that runs and tag it (and the versions rollbacks hold),
    where the registry does not say so already. `dry_run`: read, write nothing (the lines
    say what would change). `on_line` is called with each line as it is done (the CLI
    prints progress; a failure half-way leaves what was done said).

    An environment of the aliases the env repo does not have is skipped (a line says so)
    unless `environments` names it (InvalidInput). MLflow's failures propagate
    (`ExternalError`)."""
    settings = registry_settings(config)
    wanted = _environments(settings, environments)
    landed = landed_commits(session)
    lines: list[SyncLine] = []

    def emit(line: SyncLine) -> None:
        lines.append(line)
        if on_line is not None:
            on_line(line)

    for environment in wanted:
        alias = settings.aliases[environment]
        try:
            check_environment(config, session.workspace, environment)
        except InvalidInput:
            if environments is not None:
                raise
            emit(
                SyncLine(
                    None,
                    environment,
                    "skipped",
                    alias=alias,
                    note="no such environment in the env repo",
                )
            )
            continue
        for model, files in sorted(model_folders(session, config, environment).items()):
            _follow(
                session,
                registry,
                config,
                settings,
                model,
                environment,
                alias,
                landed,
                dry_run,
                emit,
                files,
            )
    return lines


def follow_merge(
    session: EnvSession,
    registry: Registry,
    config: BotConfig,
    model: str,
    environment: str,
    *,
    dry_run: bool = False,
) -> list[SyncLine]:
    """The registry follows one model in one environment, now: call it when a promotion or
    a rollback pull request of it merged, or, with `registry.move_on: complete`, when the
    promotion's rollout completed. The caller picks the moment (this function does not read
    `move_on`): on merge for a promotion with `move_on: merge`; on merge for every rollback
    (the champion must not stay on a version taken out); on completion for a promotion with
    `move_on: complete`.

    Moves the environment's alias (when `registry.aliases` gives it one) to the version the
    ledger says runs, tags that version as deployed and, after a rollback, the version rolled
    back with the rollback's reason (with `tag_versions`). Returns what it did, one line
    each (`SyncLine.changed`: whether anything was written); [] when the env repo configures
    no registry. MLflow's failures propagate (`ExternalError`)."""
    settings = config.registry
    if settings is None:
        return []
    lines: list[SyncLine] = []
    alias = settings.aliases.get(environment)
    _follow(
        session,
        registry,
        config,
        settings,
        model,
        environment,
        alias,
        landed_commits(session),
        dry_run,
        lines.append,
    )
    return lines


def _environments(settings: RegistryConfig, wanted: Sequence[str] | None) -> list[str]:
    if wanted is None:
        return list(settings.aliases)
    unknown = [name for name in wanted if name not in settings.aliases]
    if unknown:
        known = ", ".join(settings.aliases) or "none"
        raise InvalidInput.one(
            "--environment",
            "",
            f"no registry alias for {', '.join(map(repr, unknown))} (aliased environments: "
            f"{known}; see registry.aliases in {CONFIG_FILE})",
        )
    return list(dict.fromkeys(wanted))


def _follow(
    session: EnvSession,
    registry: Registry,
    config: BotConfig,
    settings: RegistryConfig,
    model: str,
    environment: str,
    alias: str | None,
    landed: Sequence[LandedCommit],
    dry_run: bool,
    emit: LineSink,
    files: Mapping[str, bytes] | None = None,
) -> None:
    """The alias and tags of one model in one environment; `files`: its folder's files when
    listing the environment's models read them already."""
    deployment = deployment_at_head(
        session, model, environment, landed, config, files=files, checked=files is not None
    )
    # The entry in force names its pull request (a merge commit's claim does not: the forge
    # is asked); the holds' rollbacks need only their time and reason.
    ledger = read_ledger(
        session,
        model,
        environment,
        deployment=deployment,
        enrich=1,
        landed=landed,
        enrich_holds=False,
    ).ledger
    current = ledger.current
    if current is None or current.version is None:
        emit(SyncLine(model, environment, "skipped", alias=alias, note="nothing deployed"))
        return
    version = current.version
    present = registry.version_tags(model, version)
    if present is None:
        emit(
            SyncLine(
                model,
                environment,
                "skipped",
                alias=alias,
                version=version,
                note=f"version {version} is not in the registry",
            )
        )
        return
    if alias is not None:
        before = registry.alias_version(model, alias)
        change = plan_alias(model, environment, alias, ledger, before)
        if change is None:
            emit(SyncLine(model, environment, "unchanged", alias=alias, version=version))
        else:
            if not dry_run:
                registry.set_alias(model, alias, change.version)
            emit(
                SyncLine(
                    model,
                    environment,
                    "moved",
                    alias=alias,
                    version=change.version,
                    previous=change.previous,
                    dry_run=dry_run,
                )
            )
    if not settings.tag_versions:
        return
    deployed = missing_tags(deployment_tags(current, environment), present)
    if deployed:
        if not dry_run:
            registry.set_version_tags(model, version, deployed)
        emit(
            SyncLine(
                model, environment, "tagged", version=version, note="deployed", dry_run=dry_run
            )
        )
    for held, hold in sorted(ledger.holds().items()):
        if held == version:
            continue  # runs again (a manual edit put it back): not a rolled-back version now
        held_tags = registry.version_tags(model, held)
        if held_tags is None:
            continue  # not a version of the registry: nothing to mark
        rolled = missing_tags(rollback_tags(hold.rollback, environment), held_tags)
        if rolled:
            if not dry_run:
                registry.set_version_tags(model, held, rolled)
            reason = truncate(one_line(hold.rollback.reason or ""), REASON_SHOWN)
            emit(
                SyncLine(
                    model,
                    environment,
                    "tagged",
                    version=held,
                    note=f"rolled back ({reason})" if reason else "rolled back",
                    dry_run=dry_run,
                )
            )


__all__ = [
    "LineSink",
    "SyncLine",
    "SyncOutcome",
    "follow_merge",
    "registry_settings",
    "sync_registry",
]
