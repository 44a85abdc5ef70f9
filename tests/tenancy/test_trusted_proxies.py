"""TRUSTED_PROXIES: whose X-Forwarded-For names the client that failed authentications count
against, through a real uvicorn server (`serve`), with peers on two loopback addresses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.api_server import PROJECT_ROOT, run_api_server

BAD_KEY = "cs_live_" + "3" * 32
PROXY = "127.0.0.2"  # the peer trusted to forward; requests from 127.0.0.1 are "direct"


def _status(http: httpx.Client, url: str, key: str, forwarded_for: str) -> int:
    headers = {"X-API-Key": key, "X-Forwarded-For": forwarded_for}
    return http.get(f"{url}/api/v1/me", headers=headers).status_code


def test_forwarded_client_is_limited_only_behind_a_trusted_proxy(tmp_path: Path) -> None:
    with (
        run_api_server(tmp_path, TRUSTED_PROXIES=PROXY, AUTH_FAILURE_LIMIT="3/minute") as server,
        httpx.Client(transport=httpx.HTTPTransport(local_address=PROXY)) as proxy,
        httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1")) as direct,
    ):
        url = server.base_url
        good = server.new_key()
        # Behind the trusted proxy the forwarded address is the client: one guessing client
        # is refused, another client behind the same proxy is not, nor is a valid key.
        guessing = [_status(proxy, url, BAD_KEY, "203.0.113.7") for _ in range(4)]
        assert guessing == [401, 401, 401, 429]
        assert _status(proxy, url, BAD_KEY, "203.0.113.8") == 401
        assert _status(proxy, url, good, "203.0.113.7") == 200
        # An untrusted peer cannot pick its address: every attempt counts against its own.
        spoofing = [_status(direct, url, BAD_KEY, f"198.51.100.{n}") for n in range(4)]
        assert spoofing == [401, 401, 401, 429]
        assert _status(proxy, url, BAD_KEY, "203.0.113.9") == 401


def test_serve_refuses_the_old_uvicorn_variable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "course_supporter", "serve"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FORWARDED_ALLOW_IPS": "*"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr == "error: FORWARDED_ALLOW_IPS is not read: set TRUSTED_PROXIES instead\n"
