"""Actions routes of the fake GitHub: workflows and their dispatches, repository dispatches.

Shapes and errors, with their sources:

* ``GET /repos/{o}/{r}/actions/workflows/{workflow_id}`` (id or file name): the workflow as in
  PyGithub's ``tests/ReplayData/Workflow.testCreateDispatchForNonTriggerEnabled.txt``
  (``id, node_id, name, path, state, created_at, updated_at, url, html_url, badge_url``);
  404 ``Not Found`` when ``.github/workflows/{file}`` is not on the default branch.
* ``POST /repos/{o}/{r}/actions/workflows/{workflow_id}/dispatches`` ({ref, inputs}): 204 with
  no body ("Create a workflow dispatch event",
  https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event). The file is
  read from the real bare repository at ``ref``. Errors: 404 for an unknown workflow; 422
  ``Workflow does not have 'workflow_dispatch' trigger`` (recorded in the ReplayData above);
  422 ``No ref found for: {ref}``; 422 ``Unexpected inputs provided: ["x"]`` for inputs the
  workflow does not declare, and ``Required input 'x' not provided`` (as GitHub answers them:
  ``{"message": ..., "documentation_url": ..., "status": "422"}``, quoted in public clients'
  tests, e.g. the ``Unexpected inputs provided`` body); at most 25 inputs.
* ``POST /repos/{o}/{r}/dispatches`` ({event_type, client_payload}): 204 ("Create a repository
  dispatch event", https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event);
  422 without ``event_type`` or with more than 10 top-level ``client_payload`` keys (the
  documented limit).

Every accepted dispatch is logged (``ActionsApi.dispatches``) so tests can assert what a
training workflow received, and how many times.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from . import _git as git
from ._model import ApiError, node_id

if TYPE_CHECKING:
    from ._api import Backend, Handler, Reply, Request

WORKFLOWS_DOC = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
DISPATCH_DOC = "https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event"
NO_TRIGGER = "Workflow does not have 'workflow_dispatch' trigger"
MAX_INPUTS = 25
MAX_PAYLOAD_KEYS = 10


@dataclass(frozen=True)
class Dispatch:
    """One accepted dispatch: `kind` workflow | repository."""

    kind: str
    repo: str  # owner/name
    workflow: str | None  # file name, for a workflow dispatch
    ref: str | None
    inputs: dict[str, Any]
    event_type: str | None = None


@dataclass
class ActionsApi:
    backend: Backend
    dispatches: list[Dispatch] = field(default_factory=list)

    def routes(self, repo: str) -> list[tuple[str, str, Handler]]:
        workflow = repo + r"/actions/workflows/(?P<workflow>[^/]+)"
        return [
            ("GET", workflow, self.get_workflow),
            ("POST", workflow + r"/dispatches", self.dispatch_workflow),
            ("POST", repo + r"/dispatches", self.dispatch_repository),
        ]

    # ------------------------------------------------------------------ workflows
    @staticmethod
    def _id(path: str) -> int:
        return 1_000_000 + int(hashlib.sha256(path.encode()).hexdigest()[:6], 16)

    def _workflow_path(self, owner: str, name: str, workflow: str) -> str:
        """The workflow's path on the default branch (by file name or id), else 404."""
        repo = self.backend.find_repo(owner, name)
        assert repo is not None
        entries = git.list_tree(repo.path, repo.default_branch, ".github/workflows") or []
        for entry in entries:
            file_name = entry.path.rsplit("/", 1)[-1]
            if entry.type == "blob" and workflow in (file_name, str(self._id(entry.path))):
                return entry.path
        raise ApiError(404, "Not Found", documentation_url=WORKFLOWS_DOC)

    def _workflow_json(self, owner: str, name: str, path: str) -> dict[str, Any]:
        ident = self._id(path)
        api = f"{self.backend.api}/repos/{owner}/{name}"
        web = self.backend.base
        return {
            "id": ident,
            "node_id": node_id("Workflow", ident),
            "name": path.rsplit("/", 1)[-1].rsplit(".", 1)[0],
            "path": path,
            "state": "active",
            "created_at": "2020-07-25T22:58:34.000-07:00",
            "updated_at": "2020-07-25T22:58:34.000-07:00",
            "url": f"{api}/actions/workflows/{ident}",
            "html_url": f"{web}/{owner}/{name}/blob/main/{path}",
            "badge_url": f"{web}/{owner}/{name}/workflows/{ident}/badge.svg",
        }

    def get_workflow(self, req: Request, owner: str, name: str, workflow: str) -> Reply:
        from ._api import Reply

        self.backend._repo(req, owner, name)
        path = self._workflow_path(owner, name, workflow)
        return Reply(200, self._workflow_json(owner, name, path))

    def dispatch_workflow(self, req: Request, owner: str, name: str, workflow: str) -> Reply:
        from ._api import Reply

        repo = self.backend._repo(req, owner, name, need="write")
        path = self._workflow_path(owner, name, workflow)
        body = self.backend._dict_body(req)
        ref = body.get("ref")
        if not isinstance(ref, str) or not ref:
            raise ApiError(
                422, 'Invalid request.\n\n"ref" wasn\'t supplied.', documentation_url=WORKFLOWS_DOC
            )
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise ApiError(422, "Invalid request.\n\nFor 'properties/inputs', is not an object.")
        sha = self.backend._resolve(repo, ref.removeprefix("refs/heads/"))
        if sha is None:
            raise ApiError(422, f"No ref found for: {ref}", documentation_url=WORKFLOWS_DOC)
        raw = git.run(repo.path, "show", f"{sha}:{path}", check=False)
        declared = _dispatch_inputs(raw.stdout.decode("utf-8", "replace"))
        if declared is None:
            raise ApiError(422, NO_TRIGGER, documentation_url=WORKFLOWS_DOC)
        unexpected = [k for k in inputs if k not in declared]
        if unexpected:
            raise ApiError(
                422,
                f"Unexpected inputs provided: {json.dumps(sorted(unexpected))}",
                documentation_url=WORKFLOWS_DOC,
            )
        for key, spec in declared.items():
            required = isinstance(spec, dict) and spec.get("required") is True
            if required and key not in inputs and "default" not in spec:
                raise ApiError(
                    422, f"Required input '{key}' not provided", documentation_url=WORKFLOWS_DOC
                )
        if len(inputs) > MAX_INPUTS:
            raise ApiError(
                422,
                f"you may only define up to {MAX_INPUTS} `inputs` for a `workflow_dispatch` event",
            )
        self.dispatches.append(
            Dispatch("workflow", f"{repo.owner}/{repo.name}", path.rsplit("/", 1)[-1], ref, inputs)
        )
        return Reply(204)

    # ------------------------------------------------------------------ repository dispatch
    def dispatch_repository(self, req: Request, owner: str, name: str) -> Reply:
        from ._api import Reply

        repo = self.backend._repo(req, owner, name, need="write")
        body = self.backend._dict_body(req)
        event_type = body.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise ApiError(
                422,
                'Invalid request.\n\n"event_type" wasn\'t supplied.',
                documentation_url=DISPATCH_DOC,
            )
        payload = body.get("client_payload") or {}
        if not isinstance(payload, dict):
            raise ApiError(
                422, "Invalid request.\n\nFor 'properties/client_payload', is not an object."
            )
        if len(payload) > MAX_PAYLOAD_KEYS:
            raise ApiError(
                422,
                f"Invalid request.\n\nNo more than {MAX_PAYLOAD_KEYS} properties are allowed; "
                f"{len(payload)} were supplied.",
                documentation_url=DISPATCH_DOC,
            )
        self.dispatches.append(
            Dispatch("repository", f"{repo.owner}/{repo.name}", None, None, payload, event_type)
        )
        return Reply(204)


def _dispatch_inputs(text: str) -> dict[str, Any] | None:
    """The `workflow_dispatch` inputs a workflow file declares ({} for none); None when it has
    no such trigger (or does not parse). YAML 1.2: `on` is a key, not a boolean."""
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    on = data.get("on", data.get(True))
    if on == "workflow_dispatch" or (isinstance(on, list) and "workflow_dispatch" in on):
        return {}
    if isinstance(on, dict) and "workflow_dispatch" in on:
        trigger = on["workflow_dispatch"] or {}
        inputs = trigger.get("inputs") if isinstance(trigger, dict) else None
        return dict(inputs) if isinstance(inputs, dict) else {}
    return None
