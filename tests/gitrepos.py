"""Build real git repositories in ``tmp_path`` for tests and benchmarks.

Everything runs the ``git`` CLI in an environment isolated from the user's and the system's
config (no hooks, no signing, fixed identity), so results do not depend on the machine.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from tests.fakegithub._git import git_env as isolated_git_env
from tests.fakegithub._git import run as run_in_bare

BOT_NAME = "model-bot"
BOT_EMAIL = "model-bot@users.noreply.github.com"
# 2024-01-01T00:00:00Z; synthetic commits are one minute apart from here.
EPOCH = 1_704_067_200

DEFAULT_CONFIG = b"apiVersion: model-bot/v1\nkind: BotConfig\n"


_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Person",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test Person",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The fake GitHub's isolated git environment, with a fixed identity for test commits."""
    return isolated_git_env({**_IDENTITY, **(extra or {})})


def git(cwd: Path, *args: str, input: bytes | None = None, check: bool = True) -> str:
    """Run ``git -C cwd args...``; return stripped stdout; raise with stderr on failure."""
    proc = subprocess.run(
        ["git", "-C", str(cwd), "-c", "core.hooksPath=/dev/null", *args],
        input=input,
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout.decode("utf-8", errors="replace").strip()


def make_bare_repo(path: Path, *, branch: str = "main", allow_filter: bool = True) -> Path:
    """An empty bare repo that serves partial clones (``uploadpack.allowFilter``)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--bare", "--quiet", f"--initial-branch={branch}")
    if allow_filter:
        git(path, "config", "uploadpack.allowFilter", "true")
        git(path, "config", "uploadpack.allowAnySHA1InWant", "true")
    git(path, "config", "gc.auto", "0")
    return path


def example_env_repo(path: Path) -> Path:
    """A non-bare git repo (branch main) at ``path`` holding a copy of examples/env-repo."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "env-repo", path)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "Seed the environment repo")
    return path


def seed_env_repo(
    bare: Path,
    files: Mapping[str, bytes],
    message: str = "seed",
    *,
    branch: str = "main",
    delete: tuple[str, ...] = (),
) -> str:
    """Commit ``files`` (path -> bytes) on top of ``branch`` in ``bare``; return the sha.

    Works without a working tree (``hash-object`` + a temporary index), so it is cheap to
    call many times and leaves ``bare`` bare.
    """
    index = bare / f"seed-index-{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index)}
    parent = _run(bare, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    try:
        if parent:
            _run(bare, "read-tree", parent, env=env)
        else:
            _run(bare, "read-tree", "--empty", env=env)
        for rel, data in files.items():
            blob = _run(bare, "hash-object", "-w", "--stdin", input=data)
            _run(bare, "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}", env=env)
        if delete:  # mode 0 removes an entry; --force-remove wants a work tree
            removals = "".join(f"0 {'0' * 40}\t{rel}\n" for rel in delete).encode()
            _run(bare, "update-index", "--index-info", input=removals, env=env)
        tree = _run(bare, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    args = ["commit-tree", tree, "-m", message]
    if parent:
        args += ["-p", parent]
    sha = _run(bare, *args)
    _run(bare, "update-ref", f"refs/heads/{branch}", sha)
    return sha


def _run(
    bare: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> str:
    """`git --git-dir=bare args...` as the fake runs it, with the test identity; stdout."""
    proc = run_in_bare(bare, *args, input=input, env={**_IDENTITY, **(env or {})}, check=check)
    return proc.stdout.decode("utf-8", errors="replace").strip()


def model_name(i: int) -> str:
    return f"model-{i:05d}"


def model_files(environment: str, model: str, version: int) -> dict[str, bytes]:
    """The three files of one model folder, small but realistic."""
    base = f"environments/{environment}/{model}"
    values = (
        f"# Helm values for {model}\n"
        f'image:\n  repository: ghcr.io/acme/{model}\n  tag: "{version}-abc1234"\n'
        f'model:\n  name: {model}\n  version: "{version}"\n'
    ).encode()
    rollout = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n"
        f"metadata:\n  name: {model}\nspec:\n  replicas: 2\n  strategy:\n    canary:\n"
        "      steps:\n      - setWeight: 5\n      - pause: {duration: 10m}\n"
    ).encode()
    analysis = (
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\n"
        f"metadata:\n  name: {model}-analysis\nspec:\n  metrics:\n  - name: error-rate\n"
        f"    successCondition: result[0] < 0.01\n"
    ).encode()
    return {
        f"{base}/values.yaml": values,
        f"{base}/rollout.yaml": rollout,
        f"{base}/analysis-template.yaml": analysis,
    }


def make_synthetic_env_repo(
    path: Path,
    *,
    models: int = 10,
    commits: int = 1,
    environment: str = "production",
    branch: str = "main",
) -> Path:
    """A bare env repo with ``models`` model folders and ``commits`` commits, built fast.

    The first commit adds ``.model-bot.yaml`` and every model's three files; each later
    commit promotes one model (round robin) by rewriting its ``values.yaml``, with the bot's
    trailers, one minute after the previous one.

    ``git fast-import`` is too slow at this size (about 10 s per 1,000 commits over a
    10,000-entry tree: it sorts, deltifies and deflates the big tree on every commit), so
    this writes the pack and its index directly. Names are fixed-width, so each version of
    the big ``environments/<env>`` tree is the next one with 20 bytes changed at a known
    offset: it is stored as that 20-byte delta against the next version, and the newest
    version whole, with chains of at most ``_CHAIN`` like ``git repack`` writes them.
    10,000 models x 5,000 commits take about 3 s.
    """
    if models < 1 or commits < 1:
        raise ValueError("need at least one model and one commit")
    make_bare_repo(path, branch=branch)
    pack = _PackWriter()
    ident = f"{BOT_NAME} <{BOT_EMAIL}>".encode()
    width = max(5, len(str(models - 1)))
    names = [f"model-{i:0{width}d}" for i in range(models)]

    config_blob = pack.add(b"blob", DEFAULT_CONFIG)
    model_trees = [_model_tree(pack, model_files(environment, name, 1)) for name in names]
    entry_prefix = [b"40000 " + n.encode() + b"\0" for n in names]
    entry_len = len(entry_prefix[0]) + 20
    env_tree = bytearray(
        b"".join(p + sha for p, sha in zip(entry_prefix, model_trees, strict=True))
    )
    last = commits - 1  # index of the newest env tree version

    def whole(version: int) -> bool:
        return (last - version) % _CHAIN == 0

    # The version not yet written: its sha, and its bytes when it is to be stored whole.
    pending_sha = _object_sha(b"tree", env_tree)
    pending_data = bytes(env_tree) if whole(0) else b""

    def root_for(env_tree_sha: bytes) -> bytes:
        envs = pack.add(b"tree", _tree([(b"40000", environment.encode(), env_tree_sha)]))
        return pack.add(
            b"tree",
            _tree(
                [(b"100644", b".model-bot.yaml", config_blob), (b"40000", b"environments", envs)]
            ),
        )

    def commit(n: int, tree: bytes, parent: bytes | None, message: str) -> bytes:
        when = b"%d +0000" % (EPOCH + 60 * n)
        lines = [b"tree " + tree.hex().encode()]
        if parent is not None:
            lines.append(b"parent " + parent.hex().encode())
        lines += [b"author " + ident + b" " + when, b"committer " + ident + b" " + when]
        return pack.add(b"commit", b"\n".join(lines) + b"\n\n" + message.encode())

    head = commit(0, root_for(pending_sha), None, f"Add {models} models to {environment}\n")
    versions = [1] * models
    for n in range(1, commits):
        i = (n - 1) % models
        name = names[i]
        previous = versions[i]
        versions[i] += 1
        old_tree = model_trees[i]
        model_trees[i] = _model_tree(pack, model_files(environment, name, versions[i]))
        offset = i * entry_len + len(entry_prefix[i])
        env_tree[offset : offset + 20] = model_trees[i]
        env_sha = _object_sha(b"tree", env_tree)
        # Version n-1 is version n with the old model tree put back.
        if whole(n - 1):
            pack.add(b"tree", pending_data)
        else:
            pack.add_ref_delta(pending_sha, len(env_tree), env_sha, offset, old_tree)
        pending_sha, pending_data = env_sha, (bytes(env_tree) if whole(n) else b"")
        message = (
            f"Promote {name} to version {versions[i]} in {environment}\n\n"
            f"Model: {name}\nModel-Version: {versions[i]}\nPrevious-Version: {previous}\n"
            f"Environment: {environment}\nAction: promote\n"
        )
        head = commit(n, root_for(env_sha), head, message)
    pack.add(b"tree", pending_data)  # the newest version, whole

    pack.write(path / "objects" / "pack")
    _run(path, "update-ref", f"refs/heads/{branch}", head.hex())
    return path


_CHAIN = 50  # longest delta chain, as `git repack`'s default --depth


def _object_sha(kind: bytes, data: bytes | bytearray) -> bytes:
    digest = hashlib.sha1(b"%s %d\0" % (kind, len(data)))
    digest.update(data)
    return digest.digest()


def _tree(entries: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """A tree object's body from (mode, name, binary sha), in git's order."""
    entries = sorted(entries, key=lambda e: e[1] + (b"/" if e[0] == b"40000" else b""))
    return b"".join(mode + b" " + name + b"\0" + sha for mode, name, sha in entries)


def _model_tree(pack: _PackWriter, files: Mapping[str, bytes]) -> bytes:
    entries = [
        (b"100644", rel.rsplit("/", 1)[1].encode(), pack.add(b"blob", data))
        for rel, data in files.items()
    ]
    return pack.add(b"tree", _tree(entries))


def _varint(n: int) -> bytes:
    """Little-endian base-128, as in delta headers."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _PackWriter:
    """A version-2 pack and its version-2 index, written without `git index-pack`."""

    _TYPES: ClassVar[dict[bytes, int]] = {b"commit": 1, b"tree": 2, b"blob": 3}
    _REF_DELTA = 7

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 12  # header
        self._offsets: dict[bytes, int] = {}
        self._crcs: dict[bytes, int] = {}

    def add(self, kind: bytes, data: bytes) -> bytes:
        sha = _object_sha(kind, data)
        if sha not in self._offsets:
            self._entry(sha, self._TYPES[kind], len(data), b"", data)
        return sha

    def add_ref_delta(self, sha: bytes, size: int, base: bytes, at: int, new: bytes) -> None:
        """Store object ``sha`` as ``base`` (same ``size``) with ``new`` written at ``at``.

        A REF_DELTA names its base by sha, so the base may come later in the pack.
        """
        if sha in self._offsets:
            return
        delta = _varint(size) + _varint(size) + _copy(0, at) + bytes([len(new)]) + new
        delta += _copy(at + len(new), size - at - len(new))
        self._entry(sha, self._REF_DELTA, len(delta), base, delta)

    def _entry(self, sha: bytes, kind: int, size: int, extra: bytes, data: bytes) -> None:
        header = bytearray([(kind << 4) | (size & 0x0F)])
        size >>= 4
        while size:
            header[-1] |= 0x80
            header.append(size & 0x7F)
            size >>= 7
        raw = bytes(header) + extra + zlib.compress(data, 1)
        self._offsets[sha] = self._size
        self._crcs[sha] = zlib.crc32(raw)
        self._chunks.append(raw)
        self._size += len(raw)

    def write(self, directory: Path) -> None:
        shas = sorted(self._offsets)
        body = b"PACK" + struct.pack(">II", 2, len(shas)) + b"".join(self._chunks)
        checksum = hashlib.sha1(body).digest()
        fanout = [0] * 256
        for sha in shas:
            fanout[sha[0]] += 1
        running = 0
        for i in range(256):
            running += fanout[i]
            fanout[i] = running
        small: list[int] = []
        large: list[int] = []
        for sha in shas:
            offset = self._offsets[sha]
            if offset < 0x80000000:
                small.append(offset)
            else:
                small.append(0x80000000 | len(large))
                large.append(offset)
        index = b"".join(
            [
                b"\xfftOc" + struct.pack(">I", 2),
                struct.pack(">256I", *fanout),
                *shas,
                struct.pack(f">{len(shas)}I", *(self._crcs[s] for s in shas)),
                struct.pack(f">{len(small)}I", *small),
                struct.pack(f">{len(large)}Q", *large),
                checksum,
            ]
        )
        index += hashlib.sha1(index).digest()
        name = f"pack-{checksum.hex()}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.pack").write_bytes(body + checksum)
        (directory / f"{name}.idx").write_bytes(index)


def _copy(offset: int, size: int) -> bytes:
    """Delta copy instructions for base[offset:offset+size] (at most 16 MiB each)."""
    out = bytearray()
    while size > 0:
        step = min(size, 0xFFFFFF)
        cmd, args = 0x80, bytearray()
        for i in range(4):
            byte = (offset >> (8 * i)) & 0xFF
            if byte:
                cmd |= 1 << i
                args.append(byte)
        for i in range(3):
            byte = (step >> (8 * i)) & 0xFF
            if byte:
                cmd |= 1 << (4 + i)
                args.append(byte)
        out.append(cmd)
        out += args
        offset += step
        size -= step
    return bytes(out)


class GitHttpServer:
    """Smart-HTTP git for tests: `git http-backend` behind a token check, on 127.0.0.1.

    ``token=None`` serves anyone. Otherwise a request must carry GitHub's header
    ``Authorization: Basic base64("x-access-token:" + token)``: no header gets 401, a wrong
    one ``deny_status`` (401 or 403). ``requests`` records (method, path, authorization).
    """

    def __init__(self, root: Path, *, token: str | None = None, deny_status: int = 401) -> None:
        self.root = root
        self.token = token
        self.deny_status = deny_status
        self.requests: list[tuple[str, str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                auth = self.headers.get("Authorization")
                server.requests.append((self.command, self.path, auth))
                if server.token is not None and auth != server.expected_header():
                    status = 401 if auth is None else server.deny_status
                    self.send_response(status)
                    self.send_header("WWW-Authenticate", 'Basic realm="test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self._body()
                path, _, query = self.path.partition("?")
                env = git_env(
                    {
                        "GIT_PROJECT_ROOT": str(server.root),
                        "GIT_HTTP_EXPORT_ALL": "1",
                        "PATH_INFO": path,
                        "QUERY_STRING": query,
                        "REQUEST_METHOD": self.command,
                        "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                        "CONTENT_LENGTH": str(len(body)),
                        "REMOTE_USER": "x-access-token",
                        "REMOTE_ADDR": "127.0.0.1",
                        "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                        "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    }
                )
                proc = subprocess.run(
                    ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
                )
                head, _, payload = proc.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def expected_header(self) -> str:
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        return f"Basic {basic}"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{name}"

    def __enter__(self) -> GitHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
