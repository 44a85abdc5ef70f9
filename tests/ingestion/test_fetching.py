"""SSRF guard and web page fetching against a real local HTTP server."""

from __future__ import annotations

import ipaddress

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.fetching import (
    fetch_page,
    host_is_allow_listed,
    is_public_address,
    resolve_fetch_target,
)
from tests.ingestion.conftest import _TestServer


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "169.254.1.1",
        "100.100.100.200", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250",
        "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254",
        "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1", "2001:db8::1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_allow_list_matches_host_or_host_and_port() -> None:
    import httpx

    url = httpx.URL("http://127.0.0.1:8001/x")
    assert host_is_allow_listed(url, ["127.0.0.1"])
    assert host_is_allow_listed(url, ["127.0.0.1:8001"])
    assert not host_is_allow_listed(url, ["127.0.0.1:8002"])
    assert host_is_allow_listed(httpx.URL("http://[::1]:80/"), ["[::1]:80"])
    assert host_is_allow_listed(httpx.URL("https://Docs.Example.com/"), ["docs.example.com:443"])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/file", "not an http"),
        ("file:///etc/passwd", "not an http"),
        ("http://user:secret@example.com/", "user name or password"),
        ("http://169.254.169.254/latest/meta-data/", "refused: not a public address"),
        ("http://[::ffff:127.0.0.1]/", "refused: not a public address"),
        ("http://localhost/", "refused: not a public address"),
        ("http://0x7f000001/", "refused: not a public address"),
    ],
)
def test_resolve_refuses_unsafe_urls(url: str, message: str, settings: Settings) -> None:
    with pytest.raises(IngestionError, match=message) as caught:
        resolve_fetch_target(url, settings)
    assert caught.value.transient is False


def test_unknown_host_is_reported(settings: Settings) -> None:
    # Permanent for NXDOMAIN, transient when the resolver itself is unreachable: not asserted.
    with pytest.raises(IngestionError, match="could not be found"):
        resolve_fetch_target("http://no-such-host.invalid/", settings)


async def test_local_server_is_refused_without_the_allow_list(
    settings: Settings, base_url: str, web_server: _TestServer
) -> None:
    before = len(web_server.requests)
    with pytest.raises(IngestionError, match="refused: not a public address"):
        await fetch_page(f"{base_url}/article", settings)
    assert len(web_server.requests) == before  # refused before any connection


async def test_web_page_reduced_to_main_text_with_headings_and_urls(
    local_settings: Settings, base_url: str
) -> None:
    url = f"{base_url}/redirect-ok"
    document = await extract_document(
        "web", path=None, url=url, filename="", settings=local_settings
    )
    final = f"{base_url}/article"
    assert document.title == "Photosynthesis"
    assert [(c.kind.value, c.ref.heading_level) for c in document.chunks] == [
        ("heading", 1), ("web_content", None), ("heading", 2), ("web_content", None),
        ("heading", 2), ("web_content", None),
    ]  # fmt: skip
    assert document.chunks[2].text == "Light reactions"
    assert all(c.ref.url == final for c in document.chunks)
    text = " ".join(c.text for c in document.chunks)
    assert "Home" not in text and "Copyright" not in text


async def test_pinned_connection_keeps_the_original_host_header(
    settings: Settings, web_server: _TestServer
) -> None:
    port = web_server.server_address[1]
    settings.fetch_allowed_hosts = [f"localhost:{port}"]
    page = await fetch_page(f"http://localhost:{port}/echo-host", settings)
    assert f"Host header was localhost:{port}." in page.text()


async def test_redirect_to_loopback_is_refused_without_allow_list(
    local_settings: Settings, base_url: str
) -> None:
    with pytest.raises(IngestionError, match="refused: not a public address"):
        await fetch_page(f"{base_url}/redirect-localhost", local_settings)


@pytest.mark.parametrize("route", ["/redirect-metadata", "/redirect-mapped"])
async def test_redirect_to_metadata_or_mapped_private_address_is_refused(
    local_settings: Settings, base_url: str, route: str
) -> None:
    with pytest.raises(IngestionError, match="refused: not a public address") as caught:
        await fetch_page(f"{base_url}{route}", local_settings)
    assert caught.value.transient is False


async def test_redirect_loops_stop_after_five_hops(
    local_settings: Settings, base_url: str, web_server: _TestServer
) -> None:
    with pytest.raises(IngestionError, match="redirects more than 5 times"):
        await fetch_page(f"{base_url}/loop/0", local_settings)
    assert "/loop/5" in web_server.requests and "/loop/6" not in web_server.requests


async def test_404_is_permanent_and_503_is_transient(
    local_settings: Settings, base_url: str
) -> None:
    with pytest.raises(IngestionError, match="not found") as missing:
        await fetch_page(f"{base_url}/missing", local_settings)
    assert missing.value.transient is False
    with pytest.raises(IngestionError, match="503") as unavailable:
        await fetch_page(f"{base_url}/unavailable", local_settings)
    assert unavailable.value.transient is True


async def test_non_html_content_is_refused(local_settings: Settings, base_url: str) -> None:
    with pytest.raises(IngestionError, match="application/pdf, not a web page"):
        await fetch_page(f"{base_url}/file.pdf", local_settings)


async def test_slow_server_times_out_as_transient(local_settings: Settings, base_url: str) -> None:
    local_settings.fetch_timeout_seconds = 0.5
    with pytest.raises(IngestionError, match="did not answer in time") as caught:
        await fetch_page(f"{base_url}/slow", local_settings)
    assert caught.value.transient is True


async def test_total_deadline_bounds_the_whole_fetch(
    local_settings: Settings, base_url: str
) -> None:
    local_settings.fetch_total_timeout_seconds = 0.3
    with pytest.raises(IngestionError, match="did not answer in time") as caught:
        await fetch_page(f"{base_url}/slow", local_settings)
    assert caught.value.transient is True


@pytest.mark.parametrize("route", ["/endless", "/huge-declared"])
async def test_bodies_over_the_cap_are_permanent_errors(
    local_settings: Settings, base_url: str, route: str
) -> None:
    with pytest.raises(IngestionError, match="larger than 262,144 bytes") as caught:
        await fetch_page(f"{base_url}{route}", local_settings)
    assert caught.value.transient is False


async def test_connection_refused_is_transient(settings: Settings) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.fetch_allowed_hosts = [f"127.0.0.1:{port}"]
    with pytest.raises(IngestionError, match="Could not connect") as caught:
        await fetch_page(f"http://127.0.0.1:{port}/", settings)
    assert caught.value.transient is True
