"""Nextcloud Login Flow v2: an app password without typing the main password.

POST {server}/index.php/login/v2 returns a login URL (opened in a browser, anywhere) and a
poll token and endpoint; polling the endpoint answers 404 until the user grants access, then
200 once with server, loginName and appPassword (developer manual, "Login Flow v2").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rcwiz import errors
from rcwiz.clock import Clock
from rcwiz.nextcloud.http import Client, raise_for_status

START = "/index.php/login/v2"
POLL_INTERVAL = 2.0
TIMEOUT = 600.0  # Nextcloud keeps a pending login for 20 minutes; 10 is plenty for a person


@dataclass(frozen=True)
class Flow:
    login_url: str
    token: str = field(repr=False)
    endpoint: str


@dataclass(frozen=True)
class Granted:
    server: str
    login_name: str
    app_password: str = field(repr=False)


def start(server: str, stall: Clock) -> Flow:
    reply = Client(server, clock=stall).request("POST", START, auth=False)
    raise_for_status(reply, server)
    data = reply.json()
    try:
        return Flow(data["login"], data["poll"]["token"], data["poll"]["endpoint"])
    except (KeyError, TypeError) as exc:
        raise errors.LoginFailed(
            f"{server} did not start a login flow; is it a Nextcloud?", "Check the server address."
        ) from exc


def poll(
    flow: Flow,
    stall: Clock,
    *,
    timeout: float = TIMEOUT,
    interval: float = POLL_INTERVAL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Granted:
    """Wait until the user grants access in the browser (404 until then), or time out."""
    client = Client(flow.endpoint, clock=stall)
    deadline = clock() + timeout
    while True:
        reply = client.request("POST", "", form={"token": flow.token}, auth=False)
        if reply.status == 200:
            data = reply.json()
            try:
                return Granted(data["server"], data["loginName"], data["appPassword"])
            except (KeyError, TypeError) as exc:
                raise errors.LoginFailed(
                    "The login flow's answer lacked the app password."
                ) from exc
        if reply.status != 404:
            raise_for_status(reply, flow.endpoint)
        if clock() >= deadline:
            raise errors.LoginFailed(
                f"Nobody granted access within {timeout / 60:.0f} minutes; the login flow ended."
            )
        sleep(interval)


def revoke(server: str, login_name: str, app_password: str, stall: Clock) -> None:
    """Delete the app password on the server (it stops working at once)."""
    Client(server, login_name, app_password, clock=stall).ocs(
        "DELETE", "/ocs/v2.php/core/apppassword"
    )
