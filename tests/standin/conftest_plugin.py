"""Fixtures for the Nextcloud stand-in (registered by tests/conftest.py's pytest_plugins).

* ``nextcloud_factory(**kwargs)`` starts a NextcloudStandin over a new empty folder (or
  ``root=...``); the keyword arguments are the constructor's. All are stopped at teardown.
* ``nextcloud`` (alias ``nextcloud_standin``) is one started with the defaults: user "alice",
  no quota, bulk upload and sharing enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from standin.nextcloud import NextcloudStandin


@pytest.fixture
def nextcloud_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., NextcloudStandin]]:
    """make(root=None, **kwargs) -> a running NextcloudStandin; all stop at teardown."""
    servers: list[NextcloudStandin] = []

    def make(root: Path | None = None, **kwargs: Any) -> NextcloudStandin:
        folder = root if root is not None else tmp_path_factory.mktemp("nextcloud-root")
        server = NextcloudStandin(folder, **kwargs)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def nextcloud(nextcloud_factory: Callable[..., NextcloudStandin]) -> NextcloudStandin:
    """A running stand-in with the defaults over an empty folder."""
    return nextcloud_factory()


@pytest.fixture
def nextcloud_standin(nextcloud: NextcloudStandin) -> NextcloudStandin:
    """Another name for ``nextcloud``."""
    return nextcloud
