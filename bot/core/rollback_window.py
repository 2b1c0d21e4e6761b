"""Argo Rollouts' emergency path: whether a rollback goes straight to the target version.

`spec.rollbackWindow.revisions` lets a Rollout go back to one of its last N revisions without
canary steps or analysis. Pure: reads the target Rollout's bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.errors import InvalidInput
from bot.core.yamledit import load_all


@dataclass(frozen=True)
class WindowCheck:
    """Whether Argo Rollouts will take the rollback straight to the target (no steps)."""

    path: str
    revisions: int | None  # spec.rollbackWindow.revisions, None when absent
    distance: int
    problem: str | None = None  # why the window could not be read

    @property
    def fast(self) -> bool:
        return self.revisions is not None and self.revisions >= self.distance


def check_rollback_window(data: bytes | None, path: str, distance: int) -> WindowCheck:
    """Read `spec.rollbackWindow.revisions` of the Rollout in `data`."""
    if data is None:
        return WindowCheck(path, None, distance, "the target version has no Rollout there")
    try:
        documents = load_all(data, path)
    except InvalidInput as error:
        return WindowCheck(path, None, distance, f"it is not valid YAML ({error})")
    rollouts = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == "Rollout"]
    if not rollouts:
        return WindowCheck(path, None, distance, "it holds no Rollout")
    spec = rollouts[0].get("spec")
    window = spec.get("rollbackWindow") if isinstance(spec, Mapping) else None
    revisions = window.get("revisions") if isinstance(window, Mapping) else None
    if isinstance(revisions, bool) or not isinstance(revisions, int) or revisions < 1:
        return WindowCheck(path, None, distance)
    return WindowCheck(path, revisions, distance)


__all__ = ["WindowCheck", "check_rollback_window"]
