"""One SSRF guard for web and video URLs: every redirect hop checked, connections pinned."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion import fetching
from course_supporter.ingestion.document import SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.fetching import NOT_PUBLIC_MESSAGE
from tests.ingestion.conftest import _Handler, _TestServer
from tests.servers import serving

PAGE = {"video": "/video-page", "web": "/article"}
INTERNAL_FORMS = [
    "http://127.0.0.1:{port}{path}",
    "http://localhost:{port}{path}",
    "http://[::1]:{port}{path}",
    "http://2130706433:{port}{path}",
    "http://0x7f.1:{port}{path}",
    "http://[::ffff:127.0.0.1]:{port}{path}",
    "//127.0.0.1:{port}{path}",
]
source_types = pytest.mark.parametrize("source_type", ["video", "web"])


async def _extract(source_type: str, url: str, settings: Settings) -> SourceDocument:
    return await extract_document(source_type, path=None, url=url, filename="", settings=settings)


async def _refusal(source_type: str, url: str, settings: Settings) -> IngestionError:
    with pytest.raises(IngestionError) as caught:
        await _extract(source_type, url, settings)
    return caught.value


def _redirect(base_url: str, to: str) -> str:
    return f"{base_url}/redirect-to?to={quote(to, safe='')}"


class _NonHttpListener:
    """A TCP port that greets like an SSH server and counts who connects."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")


@pytest.fixture
def non_http_listener() -> Iterator[_NonHttpListener]:
    listener = _NonHttpListener()
    yield listener
    listener.socket.close()


@pytest.fixture
def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@source_types
@pytest.mark.parametrize("form", INTERNAL_FORMS)
async def test_redirect_to_an_internal_form_is_refused_before_connecting(
    source_type: str,
    form: str,
    local_settings: Settings,
    base_url: str,
    internal_servers: tuple[_TestServer, _TestServer],
) -> None:
    port = internal_servers[0].server_address[1]
    internal = form.format(port=port, path=PAGE[source_type])
    error = await _refusal(source_type, _redirect(base_url, internal), local_settings)
    assert error.message == NOT_PUBLIC_MESSAGE
    assert "refused: not a public address" in error.message
    assert error.transient is False
    assert [server.requests for server in internal_servers] == [[], []]


@source_types
async def test_public_internal_public_chain_fails(
    source_type: str,
    local_settings: Settings,
    base_url: str,
    internal_servers: tuple[_TestServer, _TestServer],
) -> None:
    port = internal_servers[0].server_address[1]
    back_to_public = f"{base_url}{PAGE[source_type]}"
    internal = _redirect(f"http://127.0.0.1:{port}", back_to_public)
    error = await _refusal(source_type, _redirect(base_url, internal), local_settings)
    assert error.message == NOT_PUBLIC_MESSAGE
    assert internal_servers[0].requests == []


@source_types
async def test_error_text_says_nothing_about_the_internal_port(
    source_type: str,
    local_settings: Settings,
    base_url: str,
    internal_servers: tuple[_TestServer, _TestServer],
    refused_port: int,
    non_http_listener: _NonHttpListener,
) -> None:
    ports = [internal_servers[0].server_address[1], refused_port, non_http_listener.port]
    messages = set()
    for port in ports:
        internal = f"http://127.0.0.1:{port}{PAGE[source_type]}"
        error = await _refusal(source_type, _redirect(base_url, internal), local_settings)
        messages.add(error.message)
    assert messages == {NOT_PUBLIC_MESSAGE}
    assert internal_servers[0].requests == [] and non_http_listener.connections == 0


@pytest.fixture
def rebinding_servers() -> Iterator[tuple[_TestServer, _TestServer]]:
    """A 'public' server on 127.0.0.1:PORT and an 'internal' one on 127.0.0.2:PORT."""
    for _attempt in range(20):
        public = _TestServer(("127.0.0.1", 0), _Handler)
        try:
            internal = _TestServer(("127.0.0.2", public.server_address[1]), _Handler)
        except OSError:
            public.server_close()
            continue
        with serving(public), serving(internal):
            yield public, internal
        return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


@source_types
async def test_dns_rebinding_cannot_reach_a_second_answer(
    source_type: str,
    settings: Settings,
    rebinding_servers: tuple[_TestServer, _TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard's lookup sees the first answer; any later lookup would see the internal one.

    Rebinding needs one name to answer differently over time, which only a DNS server the
    system resolver consults could do; none can be configured here, so the test replaces the
    two resolvers instead: the guard's lookup answers 127.0.0.1 and every other lookup in the
    process (urllib, httpx, yt-dlp) answers 127.0.0.2. A fetch that resolved the host again
    after the check would land on the internal server.
    """
    public, internal = rebinding_servers
    port = public.server_address[1]
    real_lookup, real_getaddrinfo = fetching.lookup_addresses, socket.getaddrinfo

    def guard_lookup(host: str, port: int) -> list[fetching.IPAddress]:
        if host == "rebind.test":
            return [ipaddress.ip_address("127.0.0.1")]
        return real_lookup(host, port)

    def later_lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(fetching, "lookup_addresses", guard_lookup)
    monkeypatch.setattr(socket, "getaddrinfo", later_lookup)
    # The allow-list stands in for "127.0.0.1 is public": what is under test is where we connect.
    settings.fetch_allowed_hosts = [f"rebind.test:{port}"]
    document = await _extract(
        source_type, f"http://rebind.test:{port}{PAGE[source_type]}", settings
    )
    assert document.chunks
    assert internal.requests == []
    assert PAGE[source_type] in public.requests


@source_types
async def test_overlong_host_label_is_a_clear_permanent_error(
    source_type: str, settings: Settings
) -> None:
    error = await _refusal(source_type, f"http://{'a' * 300}.example/lecture", settings)
    assert "host name is not valid" in error.message
    assert error.transient is False


async def test_overlong_host_label_in_a_redirect_is_refused(
    local_settings: Settings, base_url: str
) -> None:
    hop = _redirect(base_url, f"http://{'b' * 300}.example/lecture")
    error = await _refusal("video", hop, local_settings)
    assert "host name is not valid" in error.message
    assert error.transient is False


async def test_video_url_redirecting_to_a_public_page_is_followed(
    local_settings: Settings, base_url: str, web_server: _TestServer
) -> None:
    document = await _extract("video", _redirect(base_url, "/video-page"), local_settings)
    assert document.metadata.transcript_source == "author_subtitles"
    assert "/clip.vtt" in web_server.requests


async def test_video_redirect_loops_stop_after_five_hops(
    local_settings: Settings, base_url: str, web_server: _TestServer
) -> None:
    error = await _refusal("video", f"{base_url}/loop/100", local_settings)
    assert "redirects more than 5 times" in error.message
    assert "/loop/105" in web_server.requests and "/loop/106" not in web_server.requests


@source_types
async def test_connection_failures_name_no_port_or_http_library(
    source_type: str, settings: Settings, refused_port: int, non_http_listener: _NonHttpListener
) -> None:
    settings.fetch_allowed_hosts = ["127.0.0.1"]
    for port in (refused_port, non_http_listener.port):
        error = await _refusal(source_type, f"http://127.0.0.1:{port}/page", settings)
        detail = error.message.replace(f"http://127.0.0.1:{port}/page", "<url>")
        assert str(port) not in detail
        assert "HTTPConnection" not in detail and "httpx" not in detail.lower()
        assert "Errno" not in detail and "caused by" not in detail
        assert error.transient is True
