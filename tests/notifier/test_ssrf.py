"""The SSRF guard: only http(s), only globally routable addresses, allowlist first."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from services.notifier.errors import DestinationRefused
from services.notifier.resolver import resolve_checked
from services.notifier.ssrf import (
    Destination,
    check_address,
    check_addresses,
    check_url,
    parse_allowlist,
)


def _teredo(server: str, client: str) -> str:
    # RFC 4380: 2001:0000:<server>:<flags>:<port ^ 0xffff>:<client ^ 0xffffffff>.
    obfuscated_client = int(IPv4Address(client)) ^ 0xFFFFFFFF
    value = (0x20010000 << 96) | (int(IPv4Address(server)) << 64) | obfuscated_client
    return str(IPv6Address(value))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "address 10.0.0.1 is private"),
        ("172.16.5.4", "is private"),
        ("192.168.1.1", "is private"),
        ("127.0.0.1", "is loopback"),
        ("127.255.0.9", "is loopback"),
        ("::1", "is loopback"),
        ("169.254.169.254", "is link-local (the cloud metadata service)"),
        ("169.254.10.1", "is link-local"),
        ("fe80::1", "is link-local"),
        ("100.64.0.1", "is shared address space (carrier-grade NAT)"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.1", "is multicast"),
        ("239.255.255.250", "is multicast"),
        ("ff02::1", "is multicast"),
        ("0.0.0.0", "is unspecified"),
        ("::", "is unspecified"),
        ("255.255.255.255", "is broadcast"),
        ("240.0.0.1", "is reserved"),
        ("192.0.2.1", "is reserved for documentation"),
        ("198.51.100.7", "is reserved for documentation"),
        ("203.0.113.9", "is reserved for documentation"),
        ("2001:db8::1", "is reserved for documentation"),
        ("198.18.0.1", "is reserved for benchmarking"),
        ("fc00::1", "is unique-local"),
        ("fd12:3456::1", "is unique-local"),
        ("fec0::1", "is site-local"),
        ("::ffff:10.0.0.1", "embeds 10.0.0.1 (IPv4-mapped), which is private"),
        ("::ffff:127.0.0.1", "embeds 127.0.0.1 (IPv4-mapped), which is loopback"),
        # 169.254.169.254 = 0xa9fe.a9fe
        ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254 (NAT64), which is link-local"),
        # 10.0.0.1 = 0x0a00.0001
        ("64:ff9b::a00:1", "embeds 10.0.0.1 (NAT64), which is private"),
        ("2002:a00:1::1", "embeds 10.0.0.1 (6to4), which is private"),
        ("2002:7f00:1::1", "embeds 127.0.0.1 (6to4), which is loopback"),
        (_teredo("8.8.8.8", "10.0.0.1"), "embeds 10.0.0.1 (Teredo client), which is private"),
        (_teredo("192.168.0.1", "8.8.8.8"), "embeds 192.168.0.1 (Teredo server)"),
        # A Teredo address embedding only public addresses is still a tunnel, not a host.
        (_teredo("8.8.8.8", "8.8.4.4"), "is a Teredo tunnel address"),
    ],
)
def test_non_global_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    with pytest.raises(DestinationRefused) as refusal:
        check_address(address)
    assert reason in refusal.value.reason
    assert refusal.value.reason.startswith(f"address {ip_address(address)} ")


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",  # IPv4-mapped public address: the packets go to 8.8.8.8
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
        "2002:808:808::1",  # 6to4 relay of 8.8.8.8
    ],
)
def test_global_addresses_pass(address: str) -> None:
    assert check_address(address) == ip_address(address)


def test_allowlist_is_checked_first() -> None:
    allowlist = parse_allowlist(["127.0.0.0/8", " 10.1.2.0/24 ", ""])

    assert check_address("127.0.0.1", allowlist) == IPv4Address("127.0.0.1")
    assert check_address("10.1.2.3", allowlist) == IPv4Address("10.1.2.3")
    with pytest.raises(DestinationRefused, match=re.escape("10.1.3.1 is private")):
        check_address("10.1.3.1", allowlist)
    with pytest.raises(DestinationRefused, match="is loopback"):
        check_address("::1", allowlist)


def test_allowlist_entries_may_have_host_bits_and_bad_ones_fail() -> None:
    assert [str(net) for net in parse_allowlist(["192.168.1.7/24"])] == ["192.168.1.0/24"]
    with pytest.raises(ValueError):
        parse_allowlist(["not-a-cidr"])


def test_one_internal_address_refuses_the_whole_host() -> None:
    with pytest.raises(DestinationRefused, match=re.escape("10.0.0.1 is private")):
        check_addresses(["8.8.8.8", "10.0.0.1"])


def test_checked_host_returns_its_first_address() -> None:
    assert check_addresses(["8.8.8.8", IPv4Address("1.1.1.1")]) == IPv4Address("8.8.8.8")


def test_host_without_addresses_is_refused() -> None:
    with pytest.raises(DestinationRefused, match="no address"):
        check_addresses([])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.example.com/ampm", Destination("https", "hooks.example.com", 443)),
        ("http://hooks.example.com/ampm", Destination("http", "hooks.example.com", 80)),
        ("HTTPS://Hooks.Example.com:8443/x?y=1", Destination("https", "hooks.example.com", 8443)),
        ("http://[2606:4700::1111]:8080/", Destination("http", "2606:4700::1111", 8080)),
    ],
)
def test_http_and_https_urls_are_accepted(url: str, expected: Destination) -> None:
    assert check_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/", "scheme 'ftp' is not allowed"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("gopher://127.0.0.1:6379/_", "scheme 'gopher' is not allowed"),
        ("hooks.example.com/path", "scheme '(none)' is not allowed"),
        ("https:///path", "has no host"),
        ("https://hooks.example.com:99999/", "invalid port"),
        # Parsers disagree on where these hosts end: the checked host must be the one dialled.
        ("https://hooks.example.com@169.254.169.254/", "has userinfo"),
        ("https://user:pw@hooks.example.com/", "has userinfo"),
        ("https://hooks.example.com\\@127.0.0.1/", "contains a backslash"),
        ("http://127.0.0.1\\.hooks.example.com/", "contains a backslash"),
        ("https://hooks.example.com%2F@10.0.0.1/", "has userinfo"),
        ("https://hooks%2eexample.com/", "percent-encoded character in its host"),
    ],
)
def test_other_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused, match=re.escape(reason)):
        check_url(url)


# Numeric hosts: getaddrinfo parses them locally, no DNS query leaves the machine.
async def test_resolving_a_loopback_literal_is_refused() -> None:
    with pytest.raises(DestinationRefused, match=re.escape("127.0.0.1 is loopback")):
        await resolve_checked(check_url("http://127.0.0.1:9/hook"))


async def test_resolving_an_allowlisted_literal_returns_it() -> None:
    destination = check_url("http://127.0.0.1:9/hook")
    allowlist = parse_allowlist(["127.0.0.1/32"])
    assert await resolve_checked(destination, allowlist) == IPv4Address("127.0.0.1")
