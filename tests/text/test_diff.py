"""The one diff function (bot.text.diff), as rollbacks use it: two folder snapshots."""

from __future__ import annotations

from bot.text.diff import unified_diff


def test_a_folder_diff_shows_changes_additions_and_deletions() -> None:
    """A rollback's diff is two folder snapshots: files missing on one side come or go."""
    before = {"f/values.yaml": b"v: 2\n", "f/gone.yaml": b"x\n"}
    after = {"f/values.yaml": b"v: 1\n", "f/new.yaml": b"y\n"}
    text = unified_diff(before, after)
    assert "--- a/f/values.yaml\n+++ b/f/values.yaml\n" in text
    assert "-v: 2\n+v: 1\n" in text
    assert "--- a/f/gone.yaml\n+++ /dev/null\n" in text
    assert "--- /dev/null\n+++ b/f/new.yaml\n" in text
    assert unified_diff(before, before) == ""


def test_a_folder_diff_of_a_last_line_without_newline_keeps_lines_apart() -> None:
    """The rollback diff once printed `-b+c` on one line for `a\\nb` -> `a\\nc` (no final
    newline) and split lines at `\\r` and form feeds, which git treats as content."""
    text = unified_diff({"f/v.yaml": b"a\nb"}, {"f/v.yaml": b"a\nc"})
    assert text == (
        "--- a/f/v.yaml\n+++ b/f/v.yaml\n@@ -1,2 +1,2 @@\n a\n"
        "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
    )
    assert unified_diff({"f": b"x\ry\fz\n"}, {"f": b"x\ry\fw\n"}) == (
        "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\ry\fz\n+x\ry\fw\n"
    )
