"""The remotes' checks of `rcwiz doctor` (rcwiz.actions.doctor runs them with the others).

Each remote is asked once with `rclone about --json` (rcwiz.rclone.about, bounded by the
stall timeout, so a dead or hung server is a failed row, not a wait). That one call says
whether the server could be reached, whether it accepted the credentials, and whether it
reports a quota. All remotes are asked at the same time, like `rcwiz quota`.

Clock: WebDAV remotes with a URL get one more request, made with the standard library and
without credentials: an OPTIONS request whose answer (any status, a 401 included) carries the
server's HTTP `Date` header. The skew is measured against the middle of the request; `Date`
has a resolution of one second. More than CLOCK_WARN (60 s) apart is a warning, more than
CLOCK_FAIL (10 minutes) a failure: by then modification times written on either side no longer
compare (`--max-age`, `--update`, sync decisions), TLS certificates may look not yet valid or
expired, and signed requests (S3 allows 15 minutes) are refused. Certificates are not verified
for this request, as nothing secret is sent and a wrong clock is a common cause of certificate
errors; rclone's own request above verifies them.

Nothing here prints a password: remote settings are read through rcwiz.rclone.config (which
drops secrets) and user:password@ in a URL is never shown.
"""

from __future__ import annotations

import email.utils
import time
from urllib.parse import urlsplit, urlunsplit

from rcwiz import errors, http, presets, process
from rcwiz.actions.doctor_check import FAIL, OK, WARN, Check
from rcwiz.clock import Clock
from rcwiz.quota.report import CRIT_PERCENT, with_preset
from rcwiz.rclone import config as conf
from rcwiz.rclone.about import Usage, about
from rcwiz.rclone.run import Rclone
from rcwiz.ui import format as fmt

CLOCK_WARN = 60.0  # seconds between the server's clock and this machine's
CLOCK_FAIL = 600.0
CLOCK_TIMEOUT = 10.0  # seconds for the Date request
NEARLY_FULL = CRIT_PERCENT  # percent used at which a remote's quota row warns


def shown_url(url: str) -> str:
    """URL without any user:password@ part."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an invalid URL)"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _usage_detail(usage: Usage) -> str:
    pct = usage.percent_used
    parts = [f"{fmt.size(usage.used)} used"]
    if usage.total:
        parts[0] += f" of {fmt.size(usage.total)}"
    if usage.free is not None:
        parts.append(f"{fmt.size(usage.free)} free")
    if pct is not None:
        parts.append(f"{pct:.1f}%")
    return ", ".join(parts)


def server_clock_offset(url: str, clock: Clock) -> float:
    """Seconds the server's clock is ahead of this machine's (negative: behind).

    One OPTIONS request without credentials; any HTTP status will do, as long as the answer
    carries a Date header. Raises OSError or ValueError when there is none.
    """
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    client = http.Client(base, clock=clock.at_most(CLOCK_TIMEOUT), verify=False)
    before = time.time()
    try:
        answer = client.request("OPTIONS", parts.path or "/", auth=False)  # any status will do
    except errors.ServerUnreachable as exc:
        raise OSError(exc.message) from exc
    finally:
        client.close()
    after = time.time()
    date = answer.headers.get("date")
    if not date:
        raise ValueError("the server's answer has no Date header")
    server = email.utils.parsedate_to_datetime(date).timestamp()
    # Date is cut to the second: the server's time lies in [server, server + 1).
    return server + 0.5 - (before + after) / 2


def clock_check(label: str, offset: float) -> Check:
    size = abs(offset)
    if size < 2:
        detail = "the server's clock agrees with this machine's (within 2 s)"
    else:
        side = "ahead of" if offset > 0 else "behind"
        detail = f"the server's clock is {fmt.duration(size)} {side} this machine's"
    hint = (
        "One of the two clocks is wrong: check this machine's with 'timedatectl' (NTP should be "
        "active), and tell the server's administrator if it is the server's."
    )
    if size > CLOCK_FAIL:
        return Check(f"{label} clock", FAIL, detail, hint)
    if size > CLOCK_WARN:
        return Check(f"{label} clock", WARN, detail, hint)
    return Check(f"{label} clock", OK, detail)


def check_remote(rclone: Rclone, name: str, remote: conf.Remote | None) -> list[Check]:
    """Reachable, authenticated, quota readable (one `rclone about`), then the clock."""
    label = f"{name}:"
    if remote is None:
        return [
            Check(
                f"{label} configured",
                FAIL,
                f"there is no remote named '{label}' in rclone.conf",
                errors.RemoteNotFound.default_hint,
            )
        ]
    url = shown_url(remote.url) if remote.url else ""
    where = url or f"type {remote.type}"
    checks: list[Check] = []
    reachable = True
    try:
        usage = about(rclone, label)
    except errors.ServerUnreachable as exc:
        return [Check(f"{label} reachable", FAIL, exc.message, exc.hint or None)]
    except errors.AuthenticationFailed:
        checks.append(Check(f"{label} reachable", OK, f"{where} answered"))
        who = f"user '{remote.user}'" if remote.user else "the credentials"
        checks.append(
            Check(
                f"{label} authenticated",
                FAIL,
                f"the server refused {who} (HTTP 401)",
                errors.enter_again(name),
            )
        )
    except errors.AboutUnsupported:
        checks.append(
            Check(
                f"{label} quota",
                WARN,
                f"rclone cannot ask a {remote.type} remote for its space, so it was not contacted",
                errors.AboutUnsupported.default_hint,
            )
        )
        return checks
    except errors.RcwizError as exc:
        if isinstance(exc, (errors.ConfigError, errors.RemoteNotFound)):
            return [Check(f"{label} configured", FAIL, exc.message, exc.hint or None)]
        reachable = isinstance(exc, errors.DirectoryNotFound)
        if reachable:
            checks.append(Check(f"{label} reachable", OK, f"{where} answered"))
        checks.append(Check(f"{label} quota", FAIL, exc.message, exc.hint or None))
    else:
        checks.append(Check(f"{label} reachable", OK, f"{where} answered"))
        who = f"as {remote.user}" if remote.user else "credentials accepted"
        checks.append(Check(f"{label} authenticated", OK, who))
        usage = with_preset(usage, presets.for_url(remote.url) if remote.url else None)
        if not usage.reported:
            checks.append(
                Check(
                    f"{label} quota",
                    WARN,
                    f"the server reports no quota ({fmt.size(usage.used)} used)",
                    "rcwiz cannot check free space before transfers to this remote.",
                )
            )
        elif (usage.percent_used or 0) >= NEARLY_FULL:
            checks.append(
                Check(
                    f"{label} quota",
                    WARN,
                    f"nearly full: {_usage_detail(usage)}",
                    "Delete or archive what you no longer need; see 'rcwiz quota'.",
                )
            )
        else:
            checks.append(Check(f"{label} quota", OK, _usage_detail(usage)))
    if reachable and remote.type == "webdav" and remote.url:
        try:
            checks.append(clock_check(label, server_clock_offset(remote.url, rclone.clock)))
        except (OSError, ValueError) as exc:
            checks.append(
                Check(
                    f"{label} clock",
                    WARN,
                    f"not measured: {getattr(exc, 'reason', None) or exc}",
                    "The server's time could not be read from its HTTP Date header.",
                )
            )
    return checks


def check_remotes(rclone: Rclone, names: list[str]) -> list[Check]:
    try:
        known = {r.name: r for r in conf.list_remotes(rclone)}
    except errors.RcwizError as exc:
        return [Check("remotes", FAIL, exc.message, exc.hint or None)]
    chosen = names or list(known)
    if not chosen:
        return [
            Check("remotes", WARN, "no remotes are configured", "Create one with 'rcwiz setup'.")
        ]

    def one(name: str) -> list[Check]:
        rows = check_remote(rclone, name, known.get(name))
        return rows + check_upload_sessions(rclone, name, known.get(name), rows)

    found = process.each_at_once(one, chosen)
    return [check for checks in found for check in checks]


def check_upload_sessions(
    rclone: Rclone, name: str, remote: conf.Remote | None, earlier: list[Check]
) -> list[Check]:
    """Upload sessions left on a Nextcloud the remote logged in to (one PROPFIND): a warning
    when they hold more than uploads.WARN_BYTES, space the quota does not show."""
    logged_in = any(c.check == f"{name}: authenticated" and c.status == OK for c in earlier)
    if remote is None or remote.vendor != "nextcloud" or not logged_in:
        return []
    from rcwiz.nextcloud import uploads
    from rcwiz.nextcloud.account import account

    label = f"{name}: upload sessions"
    try:
        found = uploads.sessions(account(rclone, name))
    except errors.RcwizError as exc:
        return [Check(label, WARN, f"not read: {exc.message}", exc.hint or None)]
    kept = [s for s in found if uploads.kept_for_resume(s)]  # rcwiz resumes or removes them
    left = [s for s in found if not uploads.kept_for_resume(s)]
    held = sum(s.bytes for s in left)
    detail = f"{len(left)} left, holding {fmt.size(held)}" if left else "none left"
    if kept:
        detail += f"; {len(kept)} kept to resume an upload ({fmt.size(sum(s.bytes for s in kept))})"
    if held <= uploads.WARN_BYTES:
        return [Check(label, OK, detail)]
    hint = (
        f"See them with 'rcwiz uploads list {name}:'; remove them with 'rcwiz uploads rm {name}:'."
    )
    return [Check(label, WARN, f"{detail} (not shown in the quota)", hint)]
