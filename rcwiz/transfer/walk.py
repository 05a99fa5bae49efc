"""A local source, walked once: every file with its size and time, every folder.

Before rclone starts, rcwiz needs the source's size (pre-flight), the names the server will
refuse (Nextcloud), the small files for the bulk upload, and the big ones whose unfinished
uploads to clean up. On a cluster's parallel file system a stat is expensive and a tree holds
10^5-10^6 files, so the tree is walked once (os.scandir, one stat per entry) and shared.

Symbolic links and special files are not followed or counted: rclone skips them too (without
--links or --copy-links).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from rcwiz.transfer import partials


class LocalFile(NamedTuple):
    relative: str  # POSIX path under the root ("sub/file.txt"); the name itself for a file root
    path: str  # the path to open
    size: int
    mtime: float


@dataclass
class Tree:
    root: Path
    files: list[LocalFile] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # POSIX paths under the root
    skipped: int = 0  # symbolic links and special files, which rclone does not send either
    errors: int = 0  # folders that could not be listed, entries that could not be looked at
    single: bool = False  # ROOT is one file named as the source (rclone copies it INTO the dest)
    filtered: bool = False  # only the files rclone's filters let through (passing)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def walk(root: str | os.PathLike[str]) -> Tree | None:
    """The files and folders under ROOT (a folder or a single file); None if it is missing."""
    start = Path(root).expanduser()
    try:
        info = start.lstat()
    except OSError:
        return None
    tree = Tree(start)
    if stat.S_ISREG(info.st_mode):
        tree.single = True
        tree.files.append(LocalFile(start.name, str(start), info.st_size, info.st_mtime))
        return tree
    if not stat.S_ISDIR(info.st_mode):
        return None
    pending = [("", str(start))]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            tree.errors += 1  # unreadable: rclone will report it
            continue
        for entry in entries:
            relative = f"{prefix}{entry.name}"
            try:
                mode = entry.stat(follow_symlinks=False)
            except OSError:
                tree.errors += 1
                continue
            if partials.is_partial(entry.name):
                continue  # rcwiz's own partial download, never the user's: neither side sends it
            if stat.S_ISDIR(mode.st_mode):
                tree.folders.append(relative)
                pending.append((f"{relative}/", entry.path))
            elif stat.S_ISREG(mode.st_mode):
                tree.files.append(LocalFile(relative, entry.path, mode.st_size, mode.st_mtime))
            else:
                tree.skipped += 1
    tree.files.sort(key=lambda f: f.relative)
    tree.folders.sort()
    return tree


def passing(tree: Tree, names: Collection[str]) -> Tree | None:
    """TREE narrowed to NAMES, the files rclone's filters let through (as rclone lists them);
    None when rclone named a file the walk does not hold under that name (a name it lists
    otherwise, or one that appeared since): then rclone alone must judge."""
    walked = {f.relative for f in tree.files}
    if any(name not in walked for name in names if not partials.is_partial(name)):
        return None
    kept = set(names)
    files = [f for f in tree.files if f.relative in kept]
    return replace(tree, files=files, filtered=True)


def empty_folders(tree: Tree) -> list[str]:
    """The folders of TREE with no file anywhere below them, which rclone does not create at
    the destination unless told to (--create-empty-src-dirs); the top-most of each, sorted."""
    holding = {
        f.relative.rsplit("/", depth)[0]
        for f in tree.files
        for depth in range(1, f.relative.count("/") + 1)
    }
    top: list[str] = []
    for folder in sorted((f for f in tree.folders if f not in holding), key=lambda f: f.split("/")):
        if not top or not folder.startswith(f"{top[-1]}/"):  # sorted: a parent comes first
            top.append(folder)
    return top
