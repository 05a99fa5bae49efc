"""`rcwiz usage` and `rcwiz review` on a 10^5-file Nextcloud account: the issue's goal is an
answer in under 10 s on this machine.

    .venv/bin/python benchmarks/nextcloud_review.py [--files 100000] [--rounds 3] [--json FILE]

Starts the Nextcloud 30 of ../shared/nextcloud (serve.sh: PHP's built-in server, SQLite) in a
temporary folder, makes a user with no quota, writes FILES small files (100 folders of 10
subfolders, 100 to 400 bytes each) straight into the user's folder on the server's disk and
has the server index them (`occ files:scan`: minutes, where uploading them would take hours),
then times `rcwiz --json usage bench:` and `rcwiz --json review bench:` ROUNDS times each
(after one untimed warm-up run each: PHP's opcache, SQLite's page cache). Each run is checked:
exit 0 (review: any of its states 0-1), the files counted equal FILES, the bytes equal what
was written and the quota's "used". Prints each run and the median; exit 0 when every run
checked and the medians met the goal, 1 otherwise, 130 when interrupted. Everything is
removed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import BenchError, Nextcloud, Tools, capture, clean_env, write_config

GOAL = 10.0  # seconds
SCAN_TIMEOUT = 5400.0  # occ files:scan of 10^5 files: about 25 minutes on a loaded 2-core VM


def seed(folder: Path, files: int) -> int:
    """FILES files in 100 x 10 folders under FOLDER; their bytes in all."""
    total = 0
    for i in range(files):
        sub = folder / f"group-{i % 100:03d}" / f"part-{(i // 100) % 10}"
        if i < 1000:
            sub.mkdir(parents=True, exist_ok=True)
        body = b"x" * (100 + i % 301)
        (sub / f"f{i:06d}.dat").write_bytes(body)
        total += len(body)
    return total


def seed_account(
    nc: Nextcloud, tools: Tools, env: dict[str, str], conf: Path, files: int
) -> tuple[str, str, Path, int]:
    """A new user without quota, remote `bench:` in CONF, holding FILES files written on the
    server's disk (its files/data) and indexed by `occ files:scan`: (user, password, that
    folder, the files' bytes in all). Shared with scale.py."""
    user, password = nc.add_user("none")
    dav = f"{nc.url}/remote.php/dav/files/{user}/"
    write_config(conf, tools.rclone, dav, user, password, env)
    # The user's folder exists once the user has logged in.
    capture([str(tools.rcwiz), "--config", str(conf), "quota", "bench:"], env)
    folder = nc.workdir / "data" / user / "files" / "data"
    started = time.perf_counter()
    written = seed(folder, files)
    took = time.perf_counter() - started
    print(f"wrote {files} files ({written} bytes) on the server in {took:.1f} s", flush=True)
    started = time.perf_counter()
    nc.occ("files:scan", f"--path={user}/files", timeout=SCAN_TIMEOUT)
    print(f"occ files:scan took {time.perf_counter() - started:.1f} s", flush=True)
    return user, password, folder, written


def run(tools: Tools, conf: Path, env: dict[str, str], command: str) -> tuple[float, dict]:
    argv = [str(tools.rcwiz), "--json", "--config", str(conf), command, "bench:"]
    start = time.perf_counter()
    done = capture(argv, env, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise BenchError(f"rcwiz {command} exited {done.returncode}: {done.stderr[-500:]}")
    return seconds, json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    tools = Tools.beside_python()
    results: dict[str, list[float]] = {"usage": [], "review": []}
    with tempfile.TemporaryDirectory(
        prefix="rcwiz-bench-review-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        env = clean_env(work)
        nc = Nextcloud(work / "server")
        try:
            print("starting Nextcloud (../shared/nextcloud/serve.sh) …", flush=True)
            nc.start()
            conf = work / "rclone.conf"
            written = seed_account(nc, tools, env, conf, args.files)[3]
            for command in results:
                run(tools, conf, env, command)  # warm-up
                for round_ in range(args.rounds):
                    seconds, doc = run(tools, conf, env, command)
                    usage = doc if command == "usage" else doc["usage"]
                    used = (usage.get("quota") or {}).get("used")
                    biggest = (usage["biggest"] or [{}])[0].get("bytes")
                    if (usage["bytes"], used, biggest) != (written, written, 400):
                        raise BenchError(
                            f"{command}: {usage['bytes']} bytes, quota used {used}, biggest "
                            f"{biggest}; wanted {written} bytes and a biggest file of 400"
                        )
                    results[command].append(seconds)
                    print(f"{command} round {round_ + 1}: {seconds:.2f} s", flush=True)
        except KeyboardInterrupt:
            return 130
        except BenchError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        finally:
            nc.stop()
    ok = True
    for command, times in results.items():
        median = statistics.median(times)
        met = median < GOAL
        ok &= met
        print(
            f"{command}: median {median:.2f} s ({min(times):.2f}-{max(times):.2f}) for "
            f"{args.files} files; goal < {GOAL:.0f} s: {'met' if met else 'missed'}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"files": args.files, "seconds": results}) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
