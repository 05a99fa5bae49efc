"""Folders rclone leaves out (no file anywhere below them): found once, the top-most named."""

from __future__ import annotations

from rcwiz.transfer.walk import empty_folders, walk


def test_the_top_most_empty_folders_are_found(tmp_path):
    for folder in ("a/empty/deeper", "a-b", "c/d/e", "c/x", "kept/sub"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "c" / "d" / "f.txt").write_text("1")
    (tmp_path / "kept" / "sub" / "g.txt").write_text("2")
    tree = walk(tmp_path)
    assert tree is not None
    assert empty_folders(tree) == ["a", "a-b", "c/d/e", "c/x"]


def test_a_tree_of_files_has_none(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "y.txt").write_text("1")
    tree = walk(tmp_path)
    assert tree is not None and empty_folders(tree) == []
