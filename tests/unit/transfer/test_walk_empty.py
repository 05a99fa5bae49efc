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


def test_a_tree_narrowed_to_the_files_rclone_passes(tmp_path):
    from rcwiz.transfer.walk import passing

    for name in ("a.txt", "b.tmp", "sub/c.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    tree = walk(tmp_path)
    assert tree is not None and not tree.filtered
    narrowed = passing(tree, ["a.txt", "sub/c.txt"])
    assert narrowed is not None and narrowed.filtered
    assert [f.relative for f in narrowed.files] == ["a.txt", "sub/c.txt"]
    assert len(tree.files) == 3  # the walk itself is kept as it was
    # A name the walk does not hold (rclone lists some names otherwise): rclone alone judges.
    assert passing(tree, ["a.txt", "a\u2409b.txt"]) is None
