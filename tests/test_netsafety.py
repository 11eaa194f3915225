"""The private-address guard, on a fake network whose every connection lands on loopback.

Names resolve from a table and IP literals to themselves, exactly as the guard would see
them on a real network; the fake then connects to the test server on 127.0.0.1 whatever the
address, so an allowed 10.0.0.1 is really fetched and no packet leaves loopback. The seed,
`public.test`, resolves to a public address, so the guard is in force.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import bagit
import jsonschema
import pytest
from click.testing import CliRunner

import preserve
from preserve import netsafety
from preserve.cli import main
from preserve.models import CaptureOptions
from preserve.netsafety import AddressGuard, Network, PrivateAddress, address_kind

from .conftest import ROOT, Server
from .hostile_server import HostileServer

PUBLIC = "93.184.215.14"
PRIVATE_HOSTS = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "internal.test"]


class FakeNetwork:
    """Resolves from `dns`, connects every address to 127.0.0.1 on the same port."""

    def __init__(self, dns: dict[str, list[list[str]]]) -> None:
        self.dns = dns
        self.resolved: list[tuple[str, list[str]]] = []
        self.dialled: list[str] = []
        self._lock = threading.Lock()

    def resolve(self, host: str, port: int) -> list[tuple[int, str]]:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            return [(family, host)]
        with self._lock:
            answers = self.dns.get(host)
            if not answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            # Each lookup takes the next answer: a name may rebind between two lookups.
            addresses = answers.pop(0) if len(answers) > 1 else answers[0]
            self.resolved.append((host, addresses))
        return [(socket.AF_INET, address) for address in addresses]

    def connect(
        self,
        family: int,
        address: str,
        port: int,
        *,
        timeout: float | None,
        source_address: tuple[str, int] | None = None,
        socket_options: Sequence[tuple[int, int, int | bytes]] = (),
    ) -> socket.socket:
        with self._lock:
            self.dialled.append(address)
        return netsafety.system_connect(
            socket.AF_INET, "127.0.0.1", port, timeout=timeout, socket_options=socket_options
        )

    def network(self) -> Network:
        return Network(resolve=self.resolve, classify=address_kind, connect=self.connect)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNetwork]:
    network = FakeNetwork(
        {
            "public.test": [[PUBLIC]],
            "internal.test": [["10.20.30.40"]],
            "rebind.test": [[PUBLIC], ["127.0.0.1"]],
        }
    )
    monkeypatch.setattr(netsafety, "SYSTEM", network.network())
    yield network


def host_url(http: Server, host: str, path: str) -> str:
    return f"http://{host}:{http.url().rsplit(':', 1)[1].rstrip('/')}{path}"


def private_page(http: Server, *, redirect: bool = False) -> dict[str, str]:
    """Serve a page on public.test naming (or redirecting to) each private host; return URLs."""
    targets = {host: host_url(http, host, f"/p{n}.gif") for n, host in enumerate(PRIVATE_HOSTS)}
    for n in range(len(PRIVATE_HOSTS)):
        http.route(f"/p{n}.gif", body=b"GIF89a", headers={"Content-Type": "image/gif"})
    named = targets
    if redirect:
        named = {}
        for n, (host, target) in enumerate(targets.items()):
            http.route(f"/r{n}.gif", status=302, headers={"Location": target})
            named[host] = host_url(http, "public.test", f"/r{n}.gif")
    images = "".join(f'<img src="{url}">' for url in named.values())
    http.route("/", body=images.encode(), headers={"Content-Type": "text/html"})
    return named


def by_url(result: preserve.CaptureResult) -> dict[str, preserve.LogRecord]:
    return {record.url: record for record in result.records}


@pytest.mark.parametrize("redirect", [False, True], ids=["requisites", "redirects"])
def test_private_addresses_are_skipped_from_a_public_seed(
    http: Server, fake: FakeNetwork, tmp_path: Path, redirect: bool
) -> None:
    named = private_page(http, redirect=redirect)
    result = preserve.capture(host_url(http, "public.test", "/"), tmp_path, CaptureOptions())
    records = by_url(result)
    for host, url in named.items():
        record = records[url]
        assert (record.outcome, record.reason) == ("skipped", "private-address"), host
        assert record.error is not None
        assert record.error.startswith("refused private address: ")
    assert "169.254.169.254 (cloud metadata)" in records[named["169.254.169.254"]].error
    assert "::1 (loopback)" in records[named["[::1]"]].error
    assert "10.20.30.40 (private)" in records[named["internal.test"]].error
    if redirect:
        record = records[named["10.0.0.1"]]
        # The last answer received was the redirect; the refused target is the final URL.
        assert record.status == 302
        assert record.final_url == host_url(http, "10.0.0.1", "/p1.gif")
    # Nothing was ever dialled but the public address: no packet towards the private ones.
    assert set(fake.dialled) == {PUBLIC}
    assert not any(path.startswith("/p") for path, _ in http.requests)
    bagit.Bag(str(result.bag_path)).validate()
    log = (result.bag_path / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    assert log.count('"reason": "private-address"') == len(PRIVATE_HOSTS)
    schema = json.loads((ROOT / "schemas" / "capture-log.schema.json").read_text())
    for line in log.splitlines():
        jsonschema.validate(json.loads(line), schema)


@pytest.mark.parametrize("redirect", [False, True], ids=["requisites", "redirects"])
def test_allow_private_fetches_them(
    http: Server, fake: FakeNetwork, tmp_path: Path, redirect: bool
) -> None:
    private_page(http, redirect=redirect)
    output = tmp_path / "out"
    args = ["capture", host_url(http, "public.test", "/"), "-o", str(output), "--allow-private"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (bag,) = output.iterdir()
    log = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    assert log.count('"outcome": "captured"') == 1 + len(PRIVATE_HOSTS)
    assert {"10.0.0.1", "169.254.169.254", "::1", "127.0.0.1", "10.20.30.40"} <= set(fake.dialled)


def test_https_connections_go_through_the_guard_too(
    http: Server, fake: FakeNetwork, tmp_path: Path
) -> None:
    targets = [host_url(http, host, "/x.gif").replace("http:", "https:") for host in PRIVATE_HOSTS]
    page = "".join(f'<img src="{url}">' for url in targets)
    http.route("/", body=page.encode(), headers={"Content-Type": "text/html"})
    result = preserve.capture(host_url(http, "public.test", "/"), tmp_path)
    records = by_url(result)
    assert [records[url].reason for url in targets] == ["private-address"] * len(targets)
    assert set(fake.dialled) == {PUBLIC}


def test_a_seed_on_a_private_address_may_reach_private_requisites(
    http: Server, fake: FakeNetwork, tmp_path: Path
) -> None:
    named = private_page(http)
    images = "".join(f'<img src="{url}">' for url in named.values())
    http.route("/intranet", body=images.encode(), headers={"Content-Type": "text/html"})
    result = preserve.capture(host_url(http, "internal.test", "/intranet"), tmp_path)
    records = by_url(result)
    assert all(records[url].outcome == "captured" for url in named.values())


def test_a_public_seed_redirected_to_a_private_address_fails(
    http: Server, fake: FakeNetwork, tmp_path: Path
) -> None:
    http.route("/", status=302, headers={"Location": host_url(http, "169.254.169.254", "/")})
    output = tmp_path / "out"
    args = ["capture", host_url(http, "public.test", "/"), "-o", str(output)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "refused private address: 169.254.169.254 is 169.254.169.254 (cloud metadata)" in (
        result.stderr
    )
    assert list(output.iterdir()) == []
    assert fake.dialled == [PUBLIC]


def test_a_rebinding_name_is_judged_on_the_address_dialled(
    http: Server, fake: FakeNetwork, tmp_path: Path
) -> None:
    # Each connection resolves once; rebind.test answers public, then loopback.
    for name in ("a", "b"):
        http.route(
            f"/{name}.gif",
            body=b"GIF89a",
            headers={"Content-Type": "image/gif", "Connection": "close"},
        )
    page = "".join(f'<img src="{host_url(http, "rebind.test", f"/{n}.gif")}">' for n in "ab")
    http.route("/", body=page.encode(), headers={"Content-Type": "text/html"})
    result = preserve.capture(host_url(http, "public.test", "/"), tmp_path)
    outcomes = sorted(r.outcome for r in result.records if r.role == "requisite")
    assert outcomes == ["captured", "skipped"]
    rebind = [addresses for host, addresses in fake.resolved if host == "rebind.test"]
    assert rebind == [[PUBLIC], ["127.0.0.1"]]
    # The loopback answer was refused, never dialled.
    assert "127.0.0.1" not in fake.dialled


def test_a_local_file_seed_does_not_open_the_private_network(
    http: Server, fake: FakeNetwork, tmp_path: Path
) -> None:
    http.route("/x.gif", body=b"GIF89a", headers={"Content-Type": "image/gif"})
    page = tmp_path / "site" / "page.html"
    page.parent.mkdir()
    page.write_text(f'<img src="{http.url("/x.gif")}">', encoding="utf-8")
    refused = preserve.capture(str(page), tmp_path / "a")
    assert [r.reason for r in refused.records if r.role == "requisite"] == ["private-address"]
    allowed = preserve.capture(str(page), tmp_path / "b", CaptureOptions(allow_private=True))
    assert [r.outcome for r in allowed.records if r.role == "requisite"] == ["captured"]


def test_through_a_proxy_nothing_is_resolved_or_refused_locally(
    http: Server, fake: FakeNetwork, tmp_path: Path
) -> None:
    # The loopback server plays the proxy: it is asked for absolute URLs.
    seed = "http://www.example.org/"
    images = ["http://10.0.0.1/ten.gif", "http://nowhere.invalid/x.gif"]
    for url in images:
        http.route(url, body=b"GIF89a", headers={"Content-Type": "image/gif"})
    page = "".join(f'<img src="{url}">' for url in images)
    http.route(seed, body=page.encode(), headers={"Content-Type": "text/html"})
    result = preserve.capture(seed, tmp_path, CaptureOptions(proxy=http.url()))
    assert [r.outcome for r in result.records] == ["captured"] * 3
    assert fake.resolved == []
    assert fake.dialled == []


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("224.0.0.1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("2002:7f00:1::1", "loopback"),
        ("93.184.215.14", None),
        ("2606:4700::6810:84e5", None),
        ("8.8.8.8", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(address) == kind


def test_reserved_and_documentation_ranges_are_not_public() -> None:
    for address in ("240.0.0.1", "192.0.2.1", "2001:db8::1", "255.255.255.255"):
        assert address_kind(address) is not None, address


def test_the_guard_refuses_before_connecting() -> None:
    dialled: list[str] = []

    def connect(family: int, address: str, port: int, **_kw: object) -> socket.socket:
        dialled.append(address)
        raise ConnectionRefusedError

    network = Network(resolve=lambda host, port: [(socket.AF_INET, "10.0.0.1")], connect=connect)
    # A local-file seed is on no address: the guard is in force from the start.
    guard = AddressGuard(network, seed="file:///saved/page.html")
    assert guard.seed_private is False
    with pytest.raises(PrivateAddress) as caught:
        guard.connect("intranet.test", 80, timeout=1.0)
    assert str(caught.value) == "refused private address: intranet.test is 10.0.0.1 (private)"
    assert dialled == []
    allowed = AddressGuard(network, seed="http://public.test/", allow_private=True)
    with pytest.raises(ConnectionRefusedError):
        allowed.connect("intranet.test", 80, timeout=1.0)
    assert dialled == ["10.0.0.1"]


def test_the_seeds_first_connection_decides() -> None:
    def connect(family: int, address: str, port: int, **_kw: object) -> socket.socket:
        return socket.socket()

    answers = {"seed.test": "10.1.1.1", "other.test": "192.168.0.9"}
    network = Network(resolve=lambda host, port: [(socket.AF_INET, answers[host])], connect=connect)
    guard = AddressGuard(network, seed="http://seed.test/")
    assert guard.seed_private is None
    with pytest.raises(PrivateAddress):
        # Before the seed has connected, nothing else may reach a private address.
        guard.connect("other.test", 80, timeout=1.0)
    guard.connect("seed.test", 80, timeout=1.0).close()
    assert guard.seed_private is True
    guard.connect("other.test", 80, timeout=1.0).close()


def test_tls_is_verified_by_default_and_insecure_is_recorded(tmp_path: Path) -> None:
    with HostileServer(tls=True) as server:
        with pytest.raises(preserve.FetchFailed, match="TLS error"):
            preserve.capture(server.url("/ok.gif"), tmp_path / "verified")
        options = CaptureOptions(insecure=True)
        result = preserve.capture(server.url("/ok.gif"), tmp_path / "insecure", options)
    bag = result.bag_path
    assert [r.tls_unverified for r in result.records] == [True]
    log = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    assert '"tls_unverified": true' in log
    dc = (bag / "data/metadata/dc.xml").read_text(encoding="utf-8")
    assert "TLS certificates were not verified (--insecure)." in dc
    premis = (bag / "data/metadata/premis.xml").read_text(encoding="utf-8")
    assert "TLS certificates not verified (--insecure)" in premis
