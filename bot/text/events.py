"""What the event command writes for people: the rollback reason an Argo Rollouts
notification gives, and the comment a completed rollout leaves on its promotion PR.
The notification's message is untrusted: one printable line, bounded, escaped in markdown."""

from __future__ import annotations

from bot.core.events import RolloutNotice
from bot.core.untrusted import one_line, truncate
from bot.text.markdown import code, escape

MESSAGE_LIMIT = 300  # characters of the cluster's message carried into a reason


def rollback_reason(notice: RolloutNotice) -> str:
    """`Argo Rollouts: on-analysis-run-failed: <the cluster's message>` (one line)."""
    message = truncate(one_line(notice.message), MESSAGE_LIMIT)
    revision = f" (revision {notice.revision})" if notice.revision else ""
    said = f": {message}" if message else ""
    return f"Argo Rollouts {notice.trigger}{revision} in {notice.namespace}/{notice.rollout}{said}"


def completed_comment(notice: RolloutNotice, model: str, environment: str, version: str) -> str:
    """The promotion PR learns its rollout completed (one comment per revision)."""
    revision = f" (revision {code(notice.revision, in_table=False)})" if notice.revision else ""
    images = ", ".join(code(image, in_table=False) for image in notice.images)
    message = truncate(one_line(notice.message), MESSAGE_LIMIT)
    said = f"\n\nArgo Rollouts said: {escape(message)}" if message else ""
    return (
        f"model-bot: the rollout of {code(model, in_table=False)} {code(version, in_table=False)} "
        f"to {code(environment, in_table=False)} completed{revision}: the Rollout "
        f"{code(notice.namespace + '/' + notice.rollout, in_table=False)} runs {images}.{said}"
    )


__all__ = ["MESSAGE_LIMIT", "completed_comment", "rollback_reason"]
