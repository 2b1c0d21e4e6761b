"""GitHub Actions step outputs (`$GITHUB_OUTPUT`) and the job summary (`$GITHUB_STEP_SUMMARY`).

Outputs are written in the multi-line form `name<<DELIMITER\\nvalue\\nDELIMITER\\n` with a
random delimiter that does not occur in the value, so no value can inject another output.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from bot.core.errors import ExternalError, InvalidInput

_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def delimiter(value: str) -> str:
    """A random heredoc delimiter that occurs nowhere in `value`."""
    while True:
        candidate = f"ghadelimiter_{secrets.token_hex(16)}"
        if candidate not in value:
            return candidate


def format_outputs(mapping: Mapping[str, str]) -> str:
    """The text to append to `$GITHUB_OUTPUT` for `mapping` (pure but for the delimiters)."""
    chunks = []
    for name, value in mapping.items():
        if not _OUTPUT_NAME.fullmatch(name):
            raise InvalidInput.one(
                "GITHUB_OUTPUT", name, "bad output name (letters, digits, '_' and '-')"
            )
        text = str(value)
        mark = delimiter(text)
        chunks.append(f"{name}<<{mark}\n{text}\n{mark}\n")
    return "".join(chunks)


def _append(path: Path | str, text: str, what: str) -> None:
    try:
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
    except OSError as error:
        raise ExternalError(f"cannot write {what} {path}: {error.strerror}") from None


def write_github_outputs(path: Path | str, mapping: Mapping[str, str]) -> None:
    """Append step outputs to the file `$GITHUB_OUTPUT` names."""
    _append(path, format_outputs(mapping), "GitHub output file")


def append_summary(path: Path | str, markdown: str) -> None:
    """Append markdown to a job summary file (`$GITHUB_STEP_SUMMARY`), ending in a newline."""
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    _append(path, text + "\n", "summary file")


__all__ = ["append_summary", "delimiter", "format_outputs", "write_github_outputs"]
