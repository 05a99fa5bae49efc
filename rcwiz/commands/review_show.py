"""How `rcwiz usage` and `rcwiz review` are shown: a rich tree on a terminal, plain indented
lines in a log or a pipe (the same figures; --json is rendered by rcwiz.cli)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, escape

if TYPE_CHECKING:
    from rcwiz.actions.review import Gathered
    from rcwiz.nextcloud.usage import File, Folder


def _label(folder: Folder, top: str = "/") -> str:
    """A folder's line: its size and name (TOP for the folder sized)."""
    name = folder.path.rpartition("/")[2] + "/" if folder.path else top
    return f"{fmt.size(folder.bytes):>10}  {name}"


def _lines(folder: Folder, count: int) -> list[tuple[int, str]]:
    """(level, text) of FOLDER's tree: COUNT biggest subfolders, the rest summed, its own
    files: each level adds up to its folder's size."""
    from rcwiz.actions.review import shown

    children, more, more_bytes = shown(folder, count)
    lines: list[tuple[int, str]] = []
    for child in children:
        lines.append((1, _label(child)))
        lines += [(level + 1, text) for level, text in _lines(child, count)]
    if more:
        lines.append((1, f"{fmt.size(more_bytes):>10}  … {more} more folder(s)"))
    if folder.listed and folder.own_bytes and (children or more):
        lines.append((1, f"{fmt.size(folder.own_bytes):>10}  (files directly in it)"))
    return lines


def tree_lines(root: Folder, count: int, top: str = "/") -> list[str]:
    """The tree as plain indented lines (a log file reads these)."""
    return [_label(root, top)] + ["    " * level + text for level, text in _lines(root, count)]


def _rich_tree(root: Folder, count: int, name: str) -> object:
    from rich.tree import Tree

    top = Tree(escape(_label(root, name)), guide_style="dim")
    stack = [top]
    for level, text in _lines(root, count):
        del stack[level:]
        stack.append(stack[-1].add(escape(text)))
    return top


def print_tree(console: Console, root: Folder, count: int, top: str = "/") -> None:
    if console.out.is_terminal:
        console.out.print(_rich_tree(root, count, top))
    else:
        for line in tree_lines(root, count, top):
            console.out.print(line, markup=False)


def _files(console: Console, title: str, files: list[File], now: float) -> None:
    if not files:
        return
    console.out.print(f"[bold]{escape(title)}[/]")
    for f in files:
        line = f"{fmt.size(f.bytes):>10}  {fmt.when(f.modified)}  {f.path}"
        console.out.print(escape(line))


def totals_line(found: Gathered) -> str:
    """The tree's total beside the quota's "used" (equal for a remote at the home folder)."""
    sizes, quota = found.sizes, found.quota
    where = f"{found.acct.remote}{found.path.lstrip('/')}"
    text = f"{where} holds {fmt.size(sizes.root.bytes)} ({sizes.root.bytes} bytes)"
    if quota is not None and quota.used is not None:
        of = f" of {fmt.size(quota.total)}" if quota.total else ""
        text += f"; the account's quota counts {fmt.size(quota.used)} ({quota.used} bytes) used{of}"
    return text


def not_counted_line(found: Gathered) -> str:
    remote = found.acct.remote
    return (
        f"Not counted in the quota: trash {fmt.size(found.trash_bytes)} "
        f"(rcwiz trash list {remote}), upload sessions {fmt.size(found.session_bytes)} "
        f"(rcwiz uploads list {remote}), versions (listed per file: rcwiz versions "
        f"{remote}FILE)."
    )


def show_usage(console: Console, found: Gathered, count: int, target: str) -> None:
    now = time.time()
    console.out.print(escape(totals_line(found)))
    top = found.path.rstrip("/").rpartition("/")[2] + "/" if found.path.strip("/") else "/"
    print_tree(console, found.sizes.root, count, top)
    _files(console, "Biggest files:", found.sizes.biggest, now)
    _files(console, "Oldest files:", found.sizes.oldest, now)
    console.out.print(escape(not_counted_line(found)))
    for problem in found.problems or []:
        console.warn(f"not read: {problem}")


def show_review(
    console: Console, found: Gathered, state: str, reasons: list[str], warn: float, crit: float
) -> None:
    """One screen: a line per topic, each with the next command to run."""
    remote = found.acct.remote
    out = console.out
    style = {"ok": "green", "warning": "yellow", "critical": "bold red"}.get(state, "dim")
    why = f" {'; '.join(reasons)}" if reasons else ""
    out.print(f"[{style}]REVIEW {state.upper()}[/] - {escape(remote)}{escape(why)}")

    def line(text: str, command: str | None = None) -> None:
        out.print(escape(text) + (f"\n    [dim]→ {escape(command)}[/]" if command else ""))

    quota = found.quota
    if quota is None or quota.used is None:
        line("Quota: could not be read.", f"rcwiz quota --check {remote}")
    elif quota.total is None:
        line(f"Quota: none set; {fmt.size(quota.used)} used.", f"rcwiz usage {remote}")
    else:
        pct = quota.percent_used or 0.0
        line(
            f"Quota: {fmt.size(quota.used)} of {fmt.size(quota.total)} used ({pct:.1f}%; "
            f"warning at {warn:.0f}%, critical at {crit:.0f}%).",
            f"rcwiz usage {remote} --depth 3",
        )
    top = [f"{f.path}/ {fmt.size(f.bytes)}" for f in found.sizes.root.children[:5]]
    line(
        "Biggest folders: " + (", ".join(top) if top else "none") + ".",
        f"rcwiz usage {remote}" if top else None,
    )
    if found.trash:
        line(
            f"Trash: {len(found.trash)} item(s), {fmt.size(found.trash_bytes)} (not in the "
            "quota; kept until the server needs the space).",
            f"rcwiz trash list {remote}   (then: rcwiz trash empty {remote})",
        )
    else:
        line("Trash: empty.")
    if found.sessions:
        line(
            f"Upload sessions left behind: {len(found.sessions)}, "
            f"{fmt.size(found.session_bytes)} (not in the quota)"
            + (
                f"; {len(found.resumable)} kept by rcwiz to resume an upload."
                if found.resumable
                else "."
            ),
            f"rcwiz uploads list {remote}   (then: rcwiz uploads rm {remote})",
        )
    else:
        line("Upload sessions left behind: none.")
    findings = found.findings or []
    shares = found.shares or []
    if findings:
        links = len({f.share.id for f in findings})
        kinds = sorted({f.text for f in findings})
        line(
            f"Shares: {len(shares)}; {links} public link(s) to check ({'; '.join(kinds)}).",
            f"rcwiz share --list {remote}   (each finding with its fix)",
        )
    else:
        line(f"Shares: {len(shares)}; no public link to check.", f"rcwiz share --list {remote}")
