"""A production-like Nextcloud 30 for the tests marked `nextcloud_prod` (pytest plugin).

The same Nextcloud 30.0.1 as tests/realnc.py, on PostgreSQL 15 with Redis as the locking
memcache and APCu as the local one (tests/prodserver.py builds it), served by PHP's built-in
server through serve.sh. Behaviour that depends on file locking (bulk requests racing on a
folder's lock) shows only here. One per test session, started in about ten seconds.

Fixtures:

* ``prod_nextcloud`` (session): the running server, a RealNextcloud (request log, occ, users);
  its ``services`` attribute holds PostgreSQL and Redis (``services.sql(...)``).
* ``prod_user``: a new user on it for this test (quota 1 GB).
* ``prod_remote``: an rclone.conf holding remote ``nc:`` (vendor nextcloud) for ``prod_user``.

Every test that uses one gets the marker ``nextcloud_prod`` (``pytest -m nextcloud_prod``).
Where PostgreSQL, Redis or PHP's pgsql/redis/apcu modules are missing they are skipped with the
apt line, unless RCWIZ_REQUIRE_NEXTCLOUD=1 (.ci/run), which makes that a failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import prodserver
import pytest
from realnc import SHARED_NEXTCLOUD, NcUser, RealNextcloud, _skip_or_fail, unavailable

FIXTURES = ("prod_nextcloud", "prod_user", "prod_remote")
TARBALL = SHARED_NEXTCLOUD / "nextcloud-30.0.1-trimmed.tar.xz"


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the production-like Nextcloud (`-m nextcloud_prod`), and
    send them all to one worker of a parallel run: its PostgreSQL, Redis and install (~8 s)
    are made once."""
    for item in items:
        if set(FIXTURES) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.nextcloud_prod)
            item.add_marker(pytest.mark.xdist_group("nextcloud_prod"))


class ProdNextcloud(RealNextcloud):
    """A RealNextcloud whose database and memcaches are the Services it was installed on."""

    services: prodserver.Services


@pytest.fixture(scope="session")
def prod_nextcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProdNextcloud]:
    """The production-like Nextcloud 30 for this session (skipped, or failed in CI, where it
    cannot run)."""
    _skip_or_fail(unavailable() or prodserver.unavailable())
    folder = tmp_path_factory.mktemp("nextcloud-prod")
    services = prodserver.Services()
    server = ProdNextcloud(folder / "w")
    # Unpacking (~1.5 s) and starting PostgreSQL (initdb ~1.3 s) overlap.
    unpacking = threading.Thread(target=prodserver.unpack, args=(server.workdir, TARBALL))
    unpacking.start()
    try:
        services.start(folder)
        unpacking.join()
        server.services = services
        server.env = services.env()
        prodserver.install(server.workdir, services, TARBALL)
        yield server.start()  # type: ignore[misc]
    finally:
        unpacking.join()
        server.stop()
        services.stop()


@pytest.fixture
def prod_user(prod_nextcloud: ProdNextcloud) -> NcUser:
    return prod_nextcloud.add_user(prefix="p")


@pytest.fixture
def prod_remote(prod_user: NcUser, tmp_path: Path, rclone_conf: Callable[..., Path]) -> Path:
    """rclone.conf (in tmp_path) with remote `nc:` for prod_user, vendor nextcloud."""
    return rclone_conf(tmp_path / "rclone.conf", {"nc": prod_user.remote()})
