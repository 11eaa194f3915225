"""Network safety: which addresses a capture may connect to, judged on the address dialled.

A public page must not make an ingestion server fetch its own internal network. Every
direct connection the Fetcher opens goes through `AddressGuard.connect`, which resolves the
host once, refuses loopback, private, link-local, cloud-metadata and other non-public
addresses, and connects to exactly the address it judged: there is no second lookup that a
DNS rebinding could answer differently. The guard stands aside when the seed itself is on
such an address (the user asked for an internal page) or with `--allow-private`. Through a
proxy the client resolves nothing and this module is not consulted: the proxy's policy rules.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

REFUSED = "refused private address"
"""How the message of a connection the guard refused begins."""

CLOUD_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("168.63.129.16"),  # Azure wire server: a public-looking address
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SocketOption = tuple[int, int, int | bytes]
Resolver = Callable[[str, int], Sequence[tuple[int, str]]]
"""Return the (address family, numeric address) pairs a host name stands for, in order."""
Policy = Callable[[str], str | None]
"""Return which kind of non-public address a numeric address is, or None when it is public."""


class Connector(Protocol):
    """Opens a TCP connection to one numeric address and returns the socket."""

    def __call__(
        self,
        family: int,
        address: str,
        port: int,
        *,
        timeout: float | None,
        source_address: tuple[str, int] | None = ...,
        socket_options: Sequence[SocketOption] = ...,
    ) -> socket.socket:
        """Return a socket connected to (address, port); raise OSError otherwise."""
        ...


def address_kind(address: str) -> str | None:
    """Return the kind of non-public address `address` is (`loopback`, `private`…), None if public.

    IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4)
    are judged by that address. Raises ValueError for text that is not a numeric address.
    """
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    if ip in CLOUD_METADATA:
        return "cloud metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        # Connecting to 0.0.0.0 or :: reaches the local machine.
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return "unique-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if ip.is_private:
        return "private"
    if not ip.is_global or ip.is_reserved:
        return "reserved"
    return None


def system_resolve(host: str, port: int) -> list[tuple[int, str]]:
    """Return the addresses of `host` from the system resolver (one lookup), in its order.

    Raises socket.gaierror when the name does not resolve.
    """
    # Looked up at call time, so a patched socket.getaddrinfo (tests) is honoured.
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    return [(family, str(sockaddr[0])) for family, _type, _proto, _name, sockaddr in infos]


def system_connect(
    family: int,
    address: str,
    port: int,
    *,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
    socket_options: Sequence[SocketOption] = (),
) -> socket.socket:
    """Open a TCP connection to the numeric `address` and return the socket.

    Raises OSError (TimeoutError included) when the connection cannot be made.
    """
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        for level, option, value in socket_options:
            sock.setsockopt(level, option, value)
        sock.settimeout(timeout)
        if source_address is not None:
            sock.bind(source_address)
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(frozen=True, slots=True)
class Network:
    """How names are resolved, which addresses are private, and how a connection is opened.

    The defaults are the system's; tests inject their own so that no traffic leaves loopback.
    """

    resolve: Resolver = system_resolve
    classify: Policy = address_kind
    connect: Connector = system_connect


SYSTEM = Network()
"""The network every Fetcher uses unless given another."""


class PrivateAddress(Exception):
    """A connection the guard refused: the host resolved only to addresses it may not reach."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        super().__init__(f"{REFUSED}: {host} is {address} ({kind})")
        self.host = host
        self.address = address
        self.kind = kind


def _origin(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


class AddressGuard:
    """Decides, for each direct connection of one capture, whether its address may be dialled.

    The seed's first connection is always made; where it lands decides the rest. A seed on a
    non-public address (an intranet page) lets the capture reach such addresses; a seed on a
    public one (or a local file) makes every later connection to a non-public address fail
    with PrivateAddress, redirects of the seed included, unless `allow_private`. Thread-safe.
    """

    def __init__(
        self, network: Network = SYSTEM, *, allow_private: bool = False, seed: str | None = None
    ) -> None:
        self._network = network
        self._allow_private = allow_private
        self._lock = threading.Lock()
        self._seed: tuple[str, int] | None = None
        self._seed_private: bool | None = None
        if seed is not None:
            self.set_seed(seed)

    @property
    def seed_private(self) -> bool | None:
        """Return whether the seed was reached on a non-public address (None: not yet known)."""
        with self._lock:
            return self._seed_private

    def set_seed(self, url: str) -> None:
        """Name the capture's seed; a seed that is not an http(s) URL counts as public."""
        with self._lock:
            if self._seed is not None or self._seed_private is not None:
                return
            self._seed = _origin(url)
            if self._seed is None:
                self._seed_private = False

    def _may_reach_private(self, host: str, port: int) -> bool:
        with self._lock:
            if self._allow_private or self._seed_private:
                return True
            return self._seed_private is None and (host.lower(), port) == self._seed

    def _settle(self, host: str, port: int, private: bool) -> None:
        """Record where the seed's first connection landed."""
        with self._lock:
            if self._seed_private is None and (host.lower(), port) == self._seed:
                self._seed_private = private

    def connect(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None,
        source_address: tuple[str, int] | None = None,
        socket_options: Sequence[SocketOption] = (),
    ) -> socket.socket:
        """Resolve `host` once and connect to the first allowed address that answers.

        Raises PrivateAddress when every address was refused, socket.gaierror when the name
        does not resolve, and the last OSError when no allowed address could be reached.
        """
        host = host.strip("[]")
        refused: PrivateAddress | None = None
        failure: OSError | None = None
        for family, address in self._network.resolve(host, port):
            kind = self._network.classify(address)
            if kind is not None and not self._may_reach_private(host, port):
                refused = refused or PrivateAddress(host, address, kind)
                continue
            try:
                sock = self._network.connect(
                    family,
                    address,
                    port,
                    timeout=timeout,
                    source_address=source_address,
                    socket_options=socket_options,
                )
            except OSError as exc:
                failure = exc
                continue
            self._settle(host, port, kind is not None)
            return sock
        if failure is not None:
            raise failure
        if refused is not None:
            raise refused
        raise OSError(f"{host} resolved to no address")
