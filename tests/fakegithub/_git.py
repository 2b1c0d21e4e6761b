"""Thin helpers around the ``git`` CLI for the bare repositories behind the fake GitHub."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ZERO_SHA = "0" * 40


class GitError(RuntimeError):
    """A git command failed unexpectedly."""


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for git subprocesses isolated from the user's and the system's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


def run(
    bare: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git --git-dir=bare args...`` and return the completed process."""
    proc = subprocess.run(
        ["git", f"--git-dir={bare}", *args],
        input=input,
        capture_output=True,
        env=git_env(env),
        check=False,
    )
    if check and proc.returncode != 0:
        raise GitError(
            f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    return proc


def out(bare: Path, *args: str, input: bytes | None = None) -> str:
    """Run a git command and return its stripped standard output."""
    return run(bare, *args, input=input).stdout.decode("utf-8", errors="replace").strip()


def init_bare(path: Path, default_branch: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["git", "init", "--bare", "--quiet", f"--initial-branch={default_branch}", str(path)],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(proc.stderr.decode(errors="replace"))
    for key, value in (
        ("uploadpack.allowFilter", "true"),
        ("uploadpack.allowAnySHA1InWant", "true"),
        ("uploadpack.allowReachableSHA1InWant", "true"),
        ("http.receivepack", "true"),
        ("receive.denyDeleteCurrent", "false"),
        ("gc.auto", "0"),
        ("core.logAllRefUpdates", "false"),
    ):
        run(path, "config", key, value)


def read_ref(bare: Path, ref: str, _depth: int = 0) -> str | None:
    """Resolve a full ref name (``refs/heads/main``) by reading the ref store directly.

    Reading files avoids a subprocess per lookup; git writes loose refs and packed-refs
    atomically (lock file + rename), and the loose file wins over packed-refs.
    """
    if _depth > 5 or ".." in ref or not (ref.startswith("refs/") or ref == "HEAD"):
        return None
    loose = bare / ref
    try:
        content = loose.read_text().strip()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        content = ""
    if content.startswith("ref: "):
        return read_ref(bare, content[5:].strip(), _depth + 1)
    if len(content) == 40:
        return content
    try:
        packed = (bare / "packed-refs").read_text()
    except FileNotFoundError:
        return None
    for line in packed.splitlines():
        if not line or line[0] in "#^":
            continue
        sha, _, name = line.partition(" ")
        if name == ref:
            return sha
    return None


def list_refs(bare: Path, prefix: str = "refs/") -> dict[str, str]:
    """All refs under ``prefix`` mapped to the object they point at."""
    text = out(bare, "for-each-ref", "--format=%(objectname) %(refname)", prefix)
    refs: dict[str, str] = {}
    for line in text.splitlines():
        sha, _, name = line.partition(" ")
        refs[name] = sha
    return refs


def object_type(bare: Path, sha: str) -> str | None:
    proc = run(bare, "cat-file", "-t", sha, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip()


def is_ancestor(bare: Path, ancestor: str, descendant: str) -> bool:
    proc = run(bare, "merge-base", "--is-ancestor", ancestor, descendant, check=False)
    if proc.returncode not in (0, 1):
        raise GitError(proc.stderr.decode(errors="replace"))
    return proc.returncode == 0


def merge_base(bare: Path, a: str, b: str) -> str | None:
    proc = run(bare, "merge-base", a, b, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def merge_tree(bare: Path, ours: str, theirs: str) -> str | None:
    """The tree of a clean three-way merge of two commits, or None on conflict."""
    proc = run(bare, "merge-tree", "--write-tree", "--no-messages", ours, theirs, check=False)
    if proc.returncode == 0:
        return proc.stdout.decode().split("\n", 1)[0].strip()
    if proc.returncode == 1:
        return None
    # Unrelated histories and similar refusals: not mergeable.
    return None


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    timestamp: int


def commit_tree(
    bare: Path,
    tree: str,
    parents: Sequence[str],
    message: str,
    author: Signature,
    committer: Signature,
) -> str:
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    env = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_AUTHOR_DATE": f"@{author.timestamp} +0000",
        "GIT_COMMITTER_NAME": committer.name,
        "GIT_COMMITTER_EMAIL": committer.email,
        "GIT_COMMITTER_DATE": f"@{committer.timestamp} +0000",
    }
    proc = run(bare, *args, input=message.encode(), env=env)
    return proc.stdout.decode().strip()


def update_ref(bare: Path, ref: str, new: str, old: str | None) -> bool:
    """Compare-and-swap a ref. ``old=None`` means the ref must not exist yet."""
    proc = run(bare, "update-ref", ref, new, old if old is not None else ZERO_SHA, check=False)
    return proc.returncode == 0


def delete_ref(bare: Path, ref: str, old: str) -> bool:
    return run(bare, "update-ref", "-d", ref, old, check=False).returncode == 0


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: str
    committer_name: str
    committer_email: str
    committer_date: str
    message: str
    author_time: int = 0  # epoch seconds of the author date

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def body(self) -> str:
        """The message after the subject line and the blank line that follows it."""
        _, _, rest = self.message.partition("\n")
        return rest.strip("\n")


_FORMAT = "%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%cn%x1f%ce%x1f%ct%x1f%B%x1e"


def _iso(epoch: str) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_commits(raw: str) -> list[CommitInfo]:
    commits: list[CommitInfo] = []
    for record in raw.split("\x1e"):
        record = record.lstrip("\n")
        if not record:
            continue
        f = record.split("\x1f")
        if len(f) < 10:
            continue
        commits.append(
            CommitInfo(
                sha=f[0],
                tree=f[1],
                parents=tuple(p for p in f[2].split(" ") if p),
                author_name=f[3],
                author_email=f[4],
                author_date=_iso(f[5]),
                committer_name=f[6],
                committer_email=f[7],
                committer_date=_iso(f[8]),
                message=f[9].rstrip("\n"),
                author_time=int(f[5]),
            )
        )
    return commits


def commit_info(bare: Path, sha: str) -> CommitInfo | None:
    proc = run(bare, "log", "-1", f"--format={_FORMAT}", sha, "--", check=False)
    if proc.returncode != 0:
        return None
    commits = _parse_commits(proc.stdout.decode("utf-8", errors="replace"))
    return commits[0] if commits else None


def commits_between(
    bare: Path, base: str, head: str, limit: int = 250, *, no_merges: bool = False
) -> list[CommitInfo]:
    """Commits reachable from ``head`` but not from ``base``, oldest first (like a PR)."""
    proc = run(
        bare,
        "log",
        "--reverse",
        "--topo-order",
        *(["--no-merges"] if no_merges else []),
        f"--max-count={limit}",
        f"--format={_FORMAT}",
        head,
        f"^{base}",
        "--",
    )
    return _parse_commits(proc.stdout.decode("utf-8", errors="replace"))


def cherry_pick_tree(bare: Path, commit: CommitInfo, onto: str) -> str | None:
    """The tree of ``commit`` replayed on top of commit ``onto`` (a three-way merge whose base is
    the commit's parent), or None on conflict.

    ``git merge-tree --merge-base`` needs git 2.40; this works from 2.38 by merging two throwaway
    commits that share one root made from the parent's tree (objects no ref points at).
    """
    sig = Signature("fake-github", "fake-github@localhost", 0)
    parent_tree = (
        out(bare, "rev-parse", f"{commit.parents[0]}^{{tree}}")
        if commit.parents
        else out(bare, "hash-object", "-t", "tree", "--stdin", "-w", input=b"")
    )
    root = commit_tree(bare, parent_tree, [], "base\n", sig, sig)
    ours = commit_tree(bare, out(bare, "rev-parse", f"{onto}^{{tree}}"), [root], "ours\n", sig, sig)
    theirs = commit_tree(bare, commit.tree, [root], "theirs\n", sig, sig)
    return merge_tree(bare, ours, theirs)


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str  # blob | tree | commit
    sha: str
    size: int
    path: str


def list_tree(bare: Path, commit: str, path: str) -> list[TreeEntry] | None:
    """The entries of directory ``path`` ("" for the root) at ``commit``; None if not a directory."""
    spec = f"{commit}:{path}" if path else f"{commit}^{{tree}}"
    kind = run(bare, "cat-file", "-t", spec, check=False)
    if kind.returncode != 0 or kind.stdout.strip() != b"tree":
        return None
    raw = run(bare, "ls-tree", "-l", "-z", spec).stdout.decode("utf-8", errors="replace")
    entries = []
    for record in raw.split("\0"):
        if not record:
            continue
        meta, _, name = record.partition("\t")
        mode, type_, sha, size = meta.split()
        full = f"{path.rstrip('/')}/{name}" if path else name
        entries.append(TreeEntry(mode, type_, sha, int(size) if size.isdigit() else 0, full))
    return entries


def count_between(bare: Path, base: str, head: str) -> int:
    return int(out(bare, "rev-list", "--count", head, f"^{base}", "--"))


@dataclass(frozen=True)
class FileChange:
    filename: str
    previous_filename: str | None
    status: str
    sha: str
    additions: int
    deletions: int
    patch: str | None


_STATUS = {
    "A": "added",
    "D": "removed",
    "M": "modified",
    "R": "renamed",
    "C": "copied",
    "T": "changed",
}


def diff_files(bare: Path, base: str, head: str) -> list[FileChange]:
    """The files changed between the merge base of base/head and head (``base...head``)."""
    rng = f"{base}...{head}" if merge_base(bare, base, head) else f"{base}..{head}"
    raw = run(bare, "diff", "--raw", "-z", "--no-abbrev", "-M", rng, "--").stdout
    numstat = run(bare, "diff", "--numstat", "-z", "-M", rng, "--").stdout
    patch_text = run(bare, "diff", "-M", "--no-color", "--no-ext-diff", rng, "--").stdout.decode(
        "utf-8", errors="replace"
    )

    entries: list[tuple[str, str, str | None, str]] = []  # status, path, old path, new sha
    parts = raw.decode("utf-8", errors="replace").split("\0")
    i = 0
    while i < len(parts):
        meta = parts[i]
        if not meta.startswith(":"):
            i += 1
            continue
        fields = meta[1:].split(" ")
        new_sha, status = fields[3], fields[4][0]
        if status in "RC":
            old_path, new_path = parts[i + 1], parts[i + 2]
            entries.append((status, new_path, old_path, new_sha))
            i += 3
        else:
            entries.append((status, parts[i + 1], None, new_sha))
            i += 2

    stats: list[tuple[int, int]] = []
    nparts = numstat.decode("utf-8", errors="replace").split("\0")
    j = 0
    while j < len(nparts):
        item = nparts[j]
        if not item:
            j += 1
            continue
        cols = item.split("\t")
        adds = int(cols[0]) if cols[0].isdigit() else 0
        dels = int(cols[1]) if cols[1].isdigit() else 0
        stats.append((adds, dels))
        j += 3 if len(cols) >= 3 and cols[2] == "" else 1

    sections: list[str] = []
    current: list[str] | None = None
    for line in patch_text.splitlines(keepends=True):
        if line.startswith("diff --git "):
            if current is not None:
                sections.append("".join(current))
            current = [line]
        elif current is not None:
            current.append(line)
    if current is not None:
        sections.append("".join(current))

    changes: list[FileChange] = []
    for idx, (status, path, previous, new_sha) in enumerate(entries):
        adds, dels = stats[idx] if idx < len(stats) else (0, 0)
        patch: str | None = None
        if idx < len(sections):
            section = sections[idx]
            at = section.find("\n@@")
            if at >= 0:
                patch = section[at + 1 :].rstrip("\n")
        changes.append(
            FileChange(
                filename=path,
                previous_filename=previous if status == "R" else None,
                status=_STATUS.get(status, "modified"),
                sha=new_sha if new_sha != ZERO_SHA else "",
                additions=adds,
                deletions=dels,
                patch=patch,
            )
        )
    return changes


def dump_history(bare: Path) -> str:
    """All refs plus every commit (with patches) reachable from them, for leak scans."""
    refs = out(bare, "for-each-ref", "--format=%(refname) %(objectname)")
    if not refs:
        return ""
    log = run(
        bare,
        "log",
        "--all",
        "-p",
        "--no-color",
        "--format=commit %H%nauthor %an <%ae>%ncommitter %cn <%ce>%n%n%B",
    ).stdout.decode("utf-8", errors="replace")
    return refs + "\n" + log
