"""The deployment ledger as people and scripts read it: `history`, `history --at`, `status`,
and the refusals and notes that cite it. Pure: values in, text out.

Untrusted text (reasons, gate summaries, logins: commit trailers and forge data) is made
inert everywhere it is shown: one printable line, bounded (`one_line`, `truncate`) in plain
text, and escaped (`escape`, `code`, `link`) in markdown, so it never breaks a table, a line
or a layout, mentions anyone or injects markup. Times are shown in UTC whatever zone they
come in: `2026-11-30 12:00Z` in text and markdown, `2026-11-30T12:00:00Z` in JSON.

JSON shapes (a public contract: fields are only ever added). Values are as recorded (not
cleaned: serialise with `json.dumps`, which escapes them); a time is a string
`YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds, truncated); a pull request is
`{"number": int, "url": str | null}` or `null` when there is none (local mode, a manual
edit, a direct push):

`entry_json` (one change of what runs)::

    {"version": str | null,            # null: the folder declares no version any more
     "previous_version": str | null,   # null: the first deployment
     "action": "promote" | "rollback" | "manual",
     "commit": str,                    # the first-parent commit of the base (full sha)
     "at": time,                       # when that commit reached the base
     "image_tag": str | null,
     "pull_request": pull request,
     "merged_by": str | null,          # a login
     "approved_by": [str],             # logins whose latest review approved it
     "gate": str | null,               # a promotion's gate summary
     "reason": str | null,             # a rollback's reason
     "requested_by": str | null,
     "hold_lifted": str | null}        # why a held version was promoted again

`history_json`::

    {"model": str, "environment": str,
     "entries": [entry, ...],          # newest first, at most `limit`
     "total": int,                     # entries in the history read (before `limit`)
     "holds": [{"version": str,
                "since": time,         # when the rollback that put the hold landed
                "rollback_commit": str,
                "pull_request": pull request,   # the rollback's
                "reason": str | null}, ...]}    # newest first

`at_json` (which version served at a time)::

    {"model": str, "environment": str,
     "at": time,                       # the time asked about
     "version": str | null,            # null: nothing deployed yet (or no version)
     "since": time | null, "commit": str | null,
     "action": "promote" | "rollback" | "manual" | null,
     "pull_request": pull request}

`status_json`::

    {"deployments": [{"model": str, "environment": str,
                      "version": str | null, "since": time | null, "commit": str | null,
                      "action": "promote" | "rollback" | "manual" | null,
                      "pull_request": pull request,      # of the entry in force
                      "open_proposals": [{"number": int | null,  # null in local mode
                                          "url": str | null,
                                          "action": "promote" | "rollback",
                                          "version": str, "branch": str}, ...],
                      "held": [str, ...],                # in version order
                      "canary": bool,
                      "soak": {"version": str | null, "over": bool,
                               "ends_at": time | null,   # null: no soak (a rollback...)
                               "reason": str} | null}, ...],  # null: the environment
                                                          # has no `next`; in the order given
     "canaries": {"include": [{"model": str, "environment": str, "version": str}, ...]},
     "canary_count": int}

`canaries` is a GitHub Actions matrix usable whole (`strategy.matrix: ${{ fromJSON(...) }}`),
sorted by (environment, model); GitHub rejects an empty one, so skip the job when
`canary_count` is 0 (see `bot.core.status.canary_matrix`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.core.ladder import SoakState
from bot.core.ledger import Entry, Hold, Ledger
from bot.core.status import StatusRow, as_utc, canary_matrix, version_key
from bot.core.trailers import NO_REASON, NO_VERSION
from bot.core.untrusted import one_line, printable, truncate
from bot.text.markdown import code, escape, link, table

TEXT_LIMIT = 200  # characters of an untrusted free-text field shown (reason, gate summary)
LOGIN_LIMIT = 64  # characters of a login shown (GitHub's are at most 39)
SHORT_SHA = 12
EMPTY = "-"  # an empty cell of a text table

Json = dict[str, Any]


# --- times, references, untrusted fields -----------------------------------------------------


def time_text(moment: datetime) -> str:
    """`2026-11-30 12:00Z`: the minute, in UTC."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%MZ")


def time_json(moment: datetime) -> str:
    """`2026-11-30T12:00:00Z`: ISO 8601 in UTC, whole seconds."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pull_json(number: int | None, url: str | None) -> Json | None:
    return None if number is None else {"number": number, "url": url}


def _ref_text(number: int | None, commit: str | None) -> str:
    """`#12`, else the short commit sha, else `-`."""
    if number is not None:
        return f"#{number}"
    return printable(commit[:SHORT_SHA]) if commit else EMPTY


def _ref_markdown(number: int | None, url: str | None, commit: str | None) -> str:
    if number is not None:  # a number is trusted: without a URL GitHub links `#N` itself
        return link(f"#{number}", url) if url else f"#{number}"
    return code(commit[:SHORT_SHA]) if commit else ""


def _free(text: str | None) -> str:
    """An untrusted free-text field as one bounded printable line ('' when empty)."""
    return truncate(one_line(text or ""), TEXT_LIMIT)


def _reason(text: str | None) -> str:
    return _free(text) or NO_REASON


def _login(login: str) -> str:
    """`@login`, one bounded line ('' when empty)."""
    name = truncate(one_line(login).lstrip("@"), LOGIN_LIMIT)
    return f"@{name}" if name else ""


def _version(version: str | None) -> str:
    return truncate(one_line(version), TEXT_LIMIT) if version is not None else NO_VERSION


def _version_markdown(version: str | None) -> str:
    return code(version) if version is not None else f"_{NO_VERSION}_"


def _holds(holds: Mapping[str, Hold] | Iterable[Hold]) -> list[Hold]:
    """Holds newest rollback first (then by version)."""
    values = list(holds.values() if isinstance(holds, Mapping) else holds)
    values.sort(key=lambda hold: version_key(hold.version))
    values.sort(key=lambda hold: as_utc(hold.rollback.at), reverse=True)
    return values


def _shown(ledger: Ledger, limit: int | None) -> tuple[Entry, ...]:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    return ledger.entries if limit is None else ledger.entries[:limit]


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells aligned in columns (the last one is not padded)."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        + "  "
        + row[-1]
        for row in rows
    ]


def _finish(lines: Iterable[str]) -> str:
    return "\n".join(line.rstrip() for line in lines) + "\n"


# --- one entry ----------------------------------------------------------------------------------


def entry_json(entry: Entry) -> Json:
    """One entry (see the module's docstring for the shape)."""
    return {
        "version": entry.version,
        "previous_version": entry.previous_version,
        "action": entry.action,
        "commit": entry.commit,
        "at": time_json(entry.at),
        "image_tag": entry.image_tag,
        "pull_request": _pull_json(entry.pull_number, entry.pull_url),
        "merged_by": entry.merged_by,
        "approved_by": list(entry.approved_by),
        "gate": entry.gate,
        "reason": entry.reason,
        "requested_by": entry.requested_by,
        "hold_lifted": entry.hold_lifted,
    }


def _change_text(entry: Entry) -> str:
    return f"{_version(entry.previous_version)} → {_version(entry.version)}"


def _people(entry: Entry) -> list[tuple[str, list[str]]]:
    groups = [
        ("merged by", [entry.merged_by] if entry.merged_by else []),
        ("approved by", list(entry.approved_by)),
        ("requested by", [entry.requested_by] if entry.requested_by else []),
    ]
    return [(label, logins) for label, logins in groups if any(one_line(x) for x in logins)]


def _people_text(entry: Entry) -> str:
    parts = [
        f"{label} {', '.join(filter(None, (_login(x) for x in logins)))}"
        for label, logins in _people(entry)
    ]
    return ", ".join(parts) or EMPTY


def _people_markdown(entry: Entry) -> str:
    parts = [
        f"{label} {', '.join(escape(_login(x)) for x in logins if _login(x))}"
        for label, logins in _people(entry)
    ]
    return ", ".join(parts)


def _details(entry: Entry) -> list[str]:
    """What the entry says about why, as plain one-line parts (escape them for markdown)."""
    parts = []
    if entry.action == "rollback":
        parts.append(f"reason: {_reason(entry.reason)}")
    elif entry.action == "manual":
        parts.append("manual edit: no claim of the bot")
    if _free(entry.gate):
        parts.append(_free(entry.gate))
    if entry.hold_lifted is not None:
        parts.append(f"hold lifted: {_reason(entry.hold_lifted)}")
    return parts


# --- history --------------------------------------------------------------------------------------


def _hold_json(hold: Hold) -> Json:
    rollback = hold.rollback
    return {
        "version": hold.version,
        "since": time_json(rollback.at),
        "rollback_commit": rollback.commit,
        "pull_request": _pull_json(rollback.pull_number, rollback.pull_url),
        "reason": rollback.reason,
    }


def history_json(
    ledger: Ledger, holds: Mapping[str, Hold] | Iterable[Hold], limit: int | None = None
) -> Json:
    """The history of a model in an environment, newest first, at most `limit` entries (None:
    all); `holds` from `ledger.holds()` (a mapping or the holds themselves)."""
    return {
        "model": ledger.model,
        "environment": ledger.environment,
        "entries": [entry_json(entry) for entry in _shown(ledger, limit)],
        "total": len(ledger.entries),
        "holds": [_hold_json(hold) for hold in _holds(holds)],
    }


def _empty_history(ledger: Ledger) -> str:
    return (
        f"no deployments of {printable(ledger.model)} in {printable(ledger.environment)} "
        "in the history read"
    )


def _hold_text(hold: Hold) -> str:
    rollback = hold.rollback
    return (
        f"held: {_version(hold.version)} (rolled back by "
        f"{_ref_text(rollback.pull_number, rollback.commit)} on {time_text(rollback.at)}, "
        f"reason: {_reason(rollback.reason)}; promote it with --lift-hold REASON)"
    )


def _not_shown(ledger: Ledger, shown: int) -> str | None:
    hidden = len(ledger.entries) - shown
    if hidden <= 0:
        return None
    return f"({hidden} older {'entry' if hidden == 1 else 'entries'} not shown; raise --limit)"


def history_text(
    ledger: Ledger, holds: Mapping[str, Hold] | Iterable[Hold], limit: int | None = None
) -> str:
    """The history for a terminal: a header, one aligned line per entry (newest first: time,
    action, change, pull request or commit, who, gate or reason), then a `held:` line per
    hold."""
    entries = _shown(ledger, limit)
    lines: list[str] = []
    if not ledger.entries:
        lines.append(_empty_history(ledger))
    else:
        lines.append(f"{printable(ledger.model)} in {printable(ledger.environment)}, newest first:")
        lines += _columns(
            [
                [
                    time_text(entry.at),
                    entry.action,
                    _change_text(entry),
                    _ref_text(entry.pull_number, entry.commit),
                    _people_text(entry),
                    "; ".join(_details(entry)) or EMPTY,
                ]
                for entry in entries
            ]
        )
        note = _not_shown(ledger, len(entries))
        if note:
            lines.append(note)
    lines += [_hold_text(hold) for hold in _holds(holds)]
    return _finish(lines)


def _hold_markdown(hold: Hold) -> str:
    rollback = hold.rollback
    return (
        f"- {_version_markdown(hold.version)}: rolled back by "
        f"{_ref_markdown(rollback.pull_number, rollback.pull_url, rollback.commit)} on "
        f"{time_text(rollback.at)}, reason: {escape(_reason(rollback.reason))}. Promoting it "
        "again needs `--lift-hold REASON`."
    )


def history_markdown(
    ledger: Ledger,
    holds: Mapping[str, Hold] | Iterable[Hold],
    limit: int | None = None,
    level: int = 3,
) -> str:
    """The history as GitHub markdown: a heading, a table (the text's columns), the holds."""
    model = code(ledger.model, in_table=False)
    environment = code(ledger.environment, in_table=False)
    lines = [f"{'#' * level} Deployments of {model} in {environment}", ""]
    entries = _shown(ledger, limit)
    if not ledger.entries:
        lines.append(f"_No deployments of {model} in {environment} in the history read._")
    else:
        lines.append(
            table(
                ["time (UTC)", "action", "change", "pull request", "by", "details"],
                (
                    [
                        time_text(entry.at),
                        entry.action,
                        f"{_version_markdown(entry.previous_version)} → "
                        f"{_version_markdown(entry.version)}",
                        _ref_markdown(entry.pull_number, entry.pull_url, entry.commit),
                        _people_markdown(entry),
                        "; ".join(escape(part) for part in _details(entry)),
                    ]
                    for entry in entries
                ),
            )
        )
        note = _not_shown(ledger, len(entries))
        if note:
            lines += ["", f"_{escape(note)}_"]
    held = _holds(holds)
    if held:
        lines += ["", "**Held versions:**", ""] + [_hold_markdown(hold) for hold in held]
    return "\n".join(lines) + "\n"


# --- which version served at a time -------------------------------------------------------------


def at_json(model: str, environment: str, when: datetime, entry: Entry | None) -> Json:
    """Which version served at `when` (`entry`: `Ledger.at(when)`)."""
    return {
        "model": model,
        "environment": environment,
        "at": time_json(when),
        "version": entry.version if entry else None,
        "since": time_json(entry.at) if entry else None,
        "commit": entry.commit if entry else None,
        "action": entry.action if entry else None,
        "pull_request": _pull_json(entry.pull_number, entry.pull_url) if entry else None,
    }


def at_text(model: str, environment: str, when: datetime, entry: Entry | None) -> str:
    """One line: which version served at `when`, since when, brought by which commit and pull
    request; or that nothing was deployed yet."""
    where = f"{printable(model)} in {printable(environment)}"
    if entry is None:
        return f"{where}: nothing was deployed yet at {time_text(when)}\n"
    what = f"version {_version(entry.version)}" if entry.version is not None else "no version"
    via: list[str] = [entry.action]
    if entry.pull_number is not None:
        via.append(f"#{entry.pull_number}")
    via.append(f"commit {printable(entry.commit[:SHORT_SHA])}")
    return f"{where} at {time_text(when)}: {what}, since {time_text(entry.at)} ({', '.join(via)})\n"


# --- status -----------------------------------------------------------------------------------------


def _status_json(row: StatusRow) -> Json:
    return {
        "model": row.model,
        "environment": row.environment,
        "version": row.version,
        "since": time_json(row.since) if row.since else None,
        "commit": row.commit,
        "action": row.action,
        "pull_request": _pull_json(row.pull_number, row.pull_url),
        "open_proposals": [
            {
                "number": proposal.number,
                "url": proposal.url,
                "action": proposal.action,
                "version": proposal.version,
                "branch": proposal.branch,
            }
            for proposal in row.open_proposals
        ],
        "held": list(row.held),
        "canary": row.canary,
        "soak": _soak_json(row.soak),
    }


def _soak_json(soak: SoakState | None) -> Json | None:
    if soak is None:
        return None
    return {
        "version": soak.version,
        "over": soak.over,
        "ends_at": time_json(soak.ends_at) if soak.ends_at else None,
        "reason": soak.reason,
    }


def _soak_text(soak: SoakState | None) -> str:
    """The soak column: `done`, `until <time>`, `none` (a rollback or manual edit in force:
    no soak), or empty where the environment does not advance."""
    if soak is None:
        return EMPTY
    if soak.over:
        return "done"
    if soak.ends_at is not None:
        return f"until {time_text(soak.ends_at)}"
    return "none"


def status_json(rows: Sequence[StatusRow]) -> Json:
    """Every deployment (in the order given) and the canaries' matrix with its size."""
    matrix = canary_matrix(rows)
    return {
        "deployments": [_status_json(row) for row in rows],
        "canaries": matrix,
        "canary_count": len(matrix["include"]),
    }


def _open_text(row: StatusRow) -> str:
    parts = [
        f"{p.action} {_version(p.version)} "
        + (f"(#{p.number})" if p.number is not None else f"(branch {printable(p.branch)})")
        for p in row.open_proposals
    ]
    return ", ".join(parts) or EMPTY


def status_text(rows: Sequence[StatusRow]) -> str:
    """What runs where, one aligned line per (model, environment): version, since, how it got
    there, whether it is a canary under analysis, held versions, open proposals."""
    if not rows:
        return "no deployments in the history read\n"
    table_rows = [
        ["ENVIRONMENT", "MODEL", "VERSION", "SINCE", "VIA", "CANARY", "SOAK", "HELD", "OPEN"]
    ]
    for row in rows:
        via = f"{row.action} {_ref_text(row.pull_number, row.commit)}" if row.action else EMPTY
        table_rows.append(
            [
                printable(row.environment),
                printable(row.model),
                _version(row.version),
                time_text(row.since) if row.since else EMPTY,
                via,
                "yes" if row.canary else "no",
                _soak_text(row.soak),
                ", ".join(_version(v) for v in row.held) or EMPTY,
                _open_text(row),
            ]
        )
    return _finish(_columns(table_rows))


def _open_markdown(row: StatusRow) -> str:
    parts = []
    for p in row.open_proposals:
        where = (
            _ref_markdown(p.number, p.url, None)
            if p.number is not None
            else f"branch {code(p.branch)}"
        )
        parts.append(f"{escape(p.action)} {code(p.version)} in {where}")
    return "<br>".join(parts)


def status_markdown(rows: Sequence[StatusRow], level: int = 3) -> str:
    """What runs where as GitHub markdown: a heading and one table row per deployment."""
    lines = [f"{'#' * level} Deployments", ""]
    if not rows:
        lines.append("_No deployments in the history read._")
        return "\n".join(lines) + "\n"
    lines.append(
        table(
            [
                "environment",
                "model",
                "version",
                "since (UTC)",
                "via",
                "canary",
                "soak",
                "held",
                "open proposals",
            ],
            (
                [
                    code(row.environment),
                    code(row.model),
                    _version_markdown(row.version),
                    time_text(row.since) if row.since else "",
                    (
                        f"{row.action} "
                        f"{_ref_markdown(row.pull_number, row.pull_url, row.commit)}".rstrip()
                        if row.action
                        else ""
                    ),
                    "🐤 under analysis" if row.canary else "",
                    "" if row.soak is None else _soak_text(row.soak),
                    ", ".join(code(v) for v in row.held),
                    _open_markdown(row),
                ]
                for row in rows
            ),
        )
    )
    return "\n".join(lines) + "\n"


# --- refusals and notes -------------------------------------------------------------------------


def held_refusal(model: str, environment: str, hold: Hold) -> str:
    """Why a promotion of a held version is refused, on one line."""
    rollback = hold.rollback
    return (
        f"{printable(model)} {_version(hold.version)} was rolled back in "
        f"{printable(environment)} by {_ref_text(rollback.pull_number, rollback.commit)} "
        f"({time_text(rollback.at)}, reason: {_reason(rollback.reason)}): it is held; to "
        "promote it again, pass --lift-hold REASON"
    )


def rejected_refusal(
    model: str,
    environment: str,
    version: str,
    number: int,
    url: str | None,
    closed_by: str | None,
    closed_at: datetime | None,
) -> str:
    """Why a promotion whose pull request was closed without merging is not proposed again,
    on one line."""
    pull = f"#{number}, {truncate(one_line(url), TEXT_LIMIT)}" if url else f"#{number}"
    by = f" by {_login(closed_by)}" if closed_by and _login(closed_by) else ""
    on = f" on {time_text(closed_at)}" if closed_at else ""
    return (
        f"the promotion of {printable(model)} {_version(version)} to {printable(environment)} "
        f"({pull}) was closed without merging{by}{on}: not proposed again; pass --reopen to "
        "propose it anyway"
    )


def lifted_note(hold: Hold, reason: str) -> str:
    """The promotion pull request's paragraph saying the hold on its version was lifted:
    which rollback put it, and why it is lifted (`reason`, untrusted, escaped)."""
    rollback = hold.rollback
    # `#N` is trusted (a number): GitHub links it and cross-references the rollback.
    if rollback.pull_number is not None:
        by = f"#{rollback.pull_number}"
    else:
        by = f"commit {code(rollback.commit[:SHORT_SHA], in_table=False)}"
    lifted = _free(reason)
    return (
        f"**Hold lifted:** version {code(hold.version, in_table=False)} was rolled back in "
        f"{code(rollback.environment, in_table=False)} by {by} on {time_text(rollback.at)} "
        f"(reason: {escape(_reason(rollback.reason))}); it is promoted again because: "
        + (escape(lifted) if lifted else f"_{NO_REASON}_")
        + "\n"
    )


__all__ = [
    "LOGIN_LIMIT",
    "TEXT_LIMIT",
    "at_json",
    "at_text",
    "entry_json",
    "held_refusal",
    "history_json",
    "history_markdown",
    "history_text",
    "lifted_note",
    "rejected_refusal",
    "status_json",
    "status_markdown",
    "status_text",
    "time_json",
    "time_text",
]
