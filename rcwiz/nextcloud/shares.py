"""Share links and shares with users or groups: Nextcloud's OCS Share API.

POST/GET/DELETE {server}/ocs/v2.php/apps/files_sharing/api/v1/shares, as documented in the
developer manual (OCS Share API). Paths are relative to the user's home, with a leading slash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rcwiz import errors
from rcwiz.nextcloud.http import Client

API = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
SHARE_TYPES = {"user": 0, "group": 1, "link": 3}
TYPE_NAMES = {v: k for k, v in SHARE_TYPES.items()}
# Nextcloud permission bits: 1 read, 2 update, 4 create, 8 delete, 16 share. The server drops
# create and delete for a single file, so 15 is "edit" for files and folders alike.
PERMISSIONS = {"read": 1, "edit": 15}


def describe_permissions(bits: int) -> str:
    """17 -> "read, share"; 31 -> "edit, share" (Nextcloud's permission bits in words)."""
    words = ["edit" if bits & 2 else "read" if bits & 1 else "none"]
    if bits & 16:
        words.append("share")
    return ", ".join(words)


@dataclass(frozen=True)
class Share:
    id: str
    kind: str  # link, user, group
    path: str
    permissions: int
    url: str | None = None
    share_with: str | None = None  # the user or group; never anything of a link's password
    expiration: str | None = None
    password_protected: bool = False
    label: str | None = None  # a link's name in Nextcloud's sharing panel
    created: int | None = None  # when it was made (seconds since the epoch; OCS `stime`)
    owner: str | None = None  # who made it (OCS `uid_owner`): another user for shared_with_me

    @classmethod
    def from_ocs(cls, data: dict[str, Any]) -> Share:
        """Only what may be shown: for a link with a password, Nextcloud's answer carries the
        password's hash in `password` and `share_with` ("3|$argon2id$..."); both stay here."""
        kind = TYPE_NAMES.get(int(data.get("share_type", -1)), str(data.get("share_type")))
        return cls(
            id=str(data.get("id", "")),
            kind=kind,
            path=str(data.get("path", "")),
            permissions=int(data.get("permissions") or 0),
            url=data.get("url") or None,
            share_with=(data.get("share_with") or None) if kind != "link" else None,
            expiration=data.get("expiration") or None,
            password_protected=bool(data.get("password")),
            label=(str(data.get("label") or "") or None) if kind == "link" else None,
            created=int(data["stime"]) if str(data.get("stime", "")).isdigit() else None,
            owner=str(data.get("uid_owner") or "") or None,
        )

    def within(self, folder: str) -> bool:
        """True when this share is FOLDER itself or lies anywhere under it ("/" holds all)."""
        top = folder.rstrip("/")
        return not top or self.path == top or self.path.startswith(top + "/")

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def create(
    client: Client,
    path: str,
    kind: str,
    *,
    share_with: str | None = None,
    password: str | None = None,
    expire: str | None = None,
    permissions: str = "read",
    label: str | None = None,
) -> Share:
    """Share PATH (relative to the user's home) as a link, or with a user or group."""
    if kind not in SHARE_TYPES:
        raise errors.UsageError(f"Unknown share kind '{kind}'.")
    form = {
        "path": path,
        "shareType": str(SHARE_TYPES[kind]),
        "permissions": str(PERMISSIONS[permissions]),
    }
    if share_with:
        form["shareWith"] = share_with
    if password:
        form["password"] = password
    if expire:
        form["expireDate"] = expire
    if label:
        form["label"] = label
    try:
        return Share.from_ocs(client.ocs("POST", API, form=form))
    except errors.NotFound as exc:
        raise _refused(client, path, kind, share_with, exc) from exc


def _refused(
    client: Client, path: str, kind: str, share_with: str | None, exc: errors.NotFound
) -> errors.RcwizError:
    """What a 404 to a new share means. Nextcloud answers 404 for a missing path, an unknown
    user or group and a refused date alike, each with a sentence in the user's language: the
    path is asked about once more (its own shares: OCS answers 404 for a missing path), so the
    error names what is really missing."""
    try:
        client.ocs("GET", API, params={"path": path})
    except errors.NotFound:
        return exc  # the path itself
    if kind in ("user", "group"):
        return errors.UsageError(
            f"There is no {kind} '{share_with}' on {client.server} to share with.",
            f"Check the {kind} name: it is the name Nextcloud shows in the sharing panel "
            "(or in the people's own settings), spelled exactly.",
        )
    return errors.UsageError(
        f"{client.server} refused to make this share: {exc.message.split(': ', 1)[-1]}",
        "Check --expire (a day after today, as the server counts days) and --permissions.",
    )


def update(client: Client, share_id: str, changes: dict[str, str]) -> Share:
    """Change settings of share SHARE_ID (OCS names: expireDate, permissions, ...)."""
    return Share.from_ocs(client.ocs("PUT", f"{API}/{share_id}", form=changes))


def job_link(
    client: Client, path: str, *, label: str, expire: str | None, permissions: str
) -> tuple[Share, bool]:
    """The link to PATH labelled LABEL (a job's own link), made to expire on EXPIRE (when
    given) with PERMISSIONS; a new link so labelled if there is none. True: it was reused.

    A job asks for its link after every successful run: reusing it keeps one live link per
    job, instead of one more every night. Only a link the job made is reused (a link made by
    hand is never changed), and never one with a password (the profile asks for none, and
    rcwiz does not take away a password someone set).
    """
    for share in own_shares(client, path):
        if share.kind != "link" or share.label != label or share.password_protected:
            continue
        changes = {}
        if expire and (share.expiration or "")[:10] != expire:
            changes["expireDate"] = expire
        if describe_permissions(share.permissions).split(",")[0] != permissions:
            changes["permissions"] = str(PERMISSIONS[permissions])
        return (update(client, share.id, changes) if changes else share), True
    return create(client, path, "link", expire=expire, permissions=permissions, label=label), False


def own_shares(client: Client, path: str) -> list[Share]:
    """The shares of PATH its owner made (not those others made of it)."""
    data = client.ocs("GET", API, params={"path": path})
    return [Share.from_ocs(item) for item in data or [] if isinstance(item, dict)]


def list_for(client: Client, path: str) -> list[Share]:
    """Every share of PATH and of anything under it (the account's own and reshares of them).

    OCS answers `path=` with the shares of that one node only (a subfolder's share is missed,
    and `path=/` answers none at all), so the account's whole list is asked for (one request,
    no path) and kept where it lies under PATH.
    """
    return [s for s in all_shares(client) if s.within(path)]


def all_shares(client: Client) -> list[Share]:
    """Every share the account made, of any kind, in any folder (OCS `GET shares`, no path)."""
    data = client.ocs("GET", API, params={"reshares": "true"})
    found = [Share.from_ocs(item) for item in data or [] if isinstance(item, dict)]
    return sorted(found, key=lambda s: (s.path, int(s.id) if s.id.isdigit() else 0))


def shared_with_me(client: Client) -> list[Share]:
    """What other users share with the account (OCS `shared_with_me=true`)."""
    data = client.ocs("GET", API, params={"shared_with_me": "true"})
    return [Share.from_ocs(item) for item in data or [] if isinstance(item, dict)]


Risk = Literal["no-password", "no-expiry", "editable", "old"]
EDIT_BITS = 2 | 4 | 8  # update, create, delete: a link that lets anyone change or add files
DAY = 86400.0
OLD_LINK_DAYS = 180.0  # a public link older than this is flagged (share --list, review)


@dataclass(frozen=True)
class Finding:
    """One thing to check about a share, and the command that fixes it."""

    share: Share
    risk: Risk
    text: str
    fix: str


def risks(share: Share, remote: str, *, now: float, old_days: float) -> list[Finding]:
    """What the service page asks users to check about SHARE, each with its fix; a public
    link only (a share with a named user or group reaches only them). REMOTE ("nc:") names
    the account in the fix commands; OLD_DAYS is the age from which a link counts as old."""
    if share.kind != "link":
        return []
    unshare = f"rcwiz share {remote} --unshare {share.id}"
    update = f"rcwiz share {remote} --update {share.id}"
    found = []
    if not share.password_protected:
        fix = f"{update} --password-stdin"
        found.append(Finding(share, "no-password", "a public link without a password", fix))
    if not share.expiration:
        fix = f"{update} --expire YYYY-MM-DD"
        found.append(Finding(share, "no-expiry", "a public link that never expires", fix))
    if share.permissions & EDIT_BITS:
        fix = f"{update} --permissions read"
        found.append(Finding(share, "editable", "anyone with the link can change files", fix))
    if share.created is not None and now - share.created > old_days * DAY:
        age = int((now - share.created) // DAY)
        found.append(Finding(share, "old", f"made {age} days ago", unshare))
    return found


def delete(client: Client, share_id: str) -> None:
    client.ocs("DELETE", f"{API}/{share_id}")
