"""The private-address refusal, checked at connect time, against real loopback servers.

Loopback is exactly what must be refused by default, so these tests serve from 127.0.0.2
and 127.0.0.3 and open the door only for the address a test means to reach
(``allowed_networks``). The other side of every case is shown from the server's own log:
a refused request never arrived.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from feeds.errors import BlockedAddress
from feeds.fetch.http import HttpFetcher
from tests.hostile_server import HostileServer


@pytest.fixture(scope="module")
def allowed() -> Iterator[HostileServer]:
    running = HostileServer("127.0.0.2")
    yield running
    running.close()


@pytest.fixture(scope="module")
def private() -> Iterator[HostileServer]:
    running = HostileServer("127.0.0.3")
    yield running
    running.close()


def test_loopback_refused_by_default_and_nothing_reaches_the_server(private) -> None:  # type: ignore[no-untyped-def]
    before = len(private.state.log)
    with HttpFetcher() as fetcher, pytest.raises(BlockedAddress, match="non-public address"):
        fetcher.fetch(private.url("/ok"))
    assert len(private.state.log) == before


def test_the_switch_lifts_the_refusal(private) -> None:  # type: ignore[no-untyped-def]
    with HttpFetcher(allow_private_networks=True) as fetcher:
        assert fetcher.fetch(private.url("/ok")).status == "ok"


def test_redirect_to_a_private_address_is_refused(allowed, private) -> None:  # type: ignore[no-untyped-def]
    before = len(private.state.log)
    target = private.url("/ok")
    with HttpFetcher(allowed_networks=["127.0.0.2/32"]) as fetcher:
        assert fetcher.fetch(allowed.url("/ok")).status == "ok"  # the exception works
        with pytest.raises(BlockedAddress, match="127.0.0.3"):
            fetcher.fetch(allowed.url(f"/redirect?to={target}"))
    assert allowed.state.requests_to("/redirect")  # the first hop was served …
    assert len(private.state.log) == before  # … the second never left the client


class FlippingResolver:
    """A DNS zone under an attacker's control: a harmless answer first, then loopback."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return [self.answers[min(len(self.calls), len(self.answers)) - 1]]


def test_dns_rebinding_is_refused_at_connect_time(allowed, private) -> None:  # type: ignore[no-untyped-def]
    resolver = FlippingResolver(["127.0.0.2", "127.0.0.3"])
    before = len(private.state.log)
    url = f"http://rebind.test:{allowed.port}/ok"
    with HttpFetcher(allowed_networks=["127.0.0.2/32"], resolver=resolver) as first:
        assert first.fetch(url).status == "ok"  # connected to the address that was checked
    with HttpFetcher(allowed_networks=["127.0.0.2/32"], resolver=resolver) as second:
        with pytest.raises(BlockedAddress, match="127.0.0.3"):
            second.fetch(url)  # the name now points inside: refused before connecting
    assert resolver.calls == ["rebind.test", "rebind.test"]  # one answer per connection
    assert len(private.state.log) == before


def test_one_private_answer_among_public_ones_blocks(private) -> None:  # type: ignore[no-untyped-def]
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.3"]

    before = len(private.state.log)
    with HttpFetcher(resolver=resolver) as fetcher, pytest.raises(BlockedAddress):
        fetcher.fetch(f"http://mixed.test:{private.port}/ok")
    assert len(private.state.log) == before


def test_the_connection_goes_to_the_checked_address(private) -> None:  # type: ignore[no-untyped-def]
    # The name never resolves by itself (.test is reserved): only the resolver's answer,
    # which the check saw, can have been connected to.
    with HttpFetcher(allow_private_networks=True, resolver=lambda h, p: ["127.0.0.3"]) as f:
        result = f.fetch(f"http://feeds.example.test:{private.port}/ok")
    assert result.status == "ok"
    assert private.state.log[-1].headers["host"] == f"feeds.example.test:{private.port}"


def test_bad_allowed_network_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a network"):
        HttpFetcher(allowed_networks=["not-a-cidr"])


def test_an_injected_transport_is_used_as_given() -> None:
    # Documented escape hatch for tests: a transport bypasses the connect-time backend.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<rss version='2.0'><channel/></rss>")

    with HttpFetcher(transport=httpx.MockTransport(handler)) as fetcher:
        assert fetcher.fetch("http://10.0.0.1/feed").status == "ok"
