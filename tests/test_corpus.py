"""Real pages: every corpus seed captured through a loopback proxy serving its WARC records."""

from __future__ import annotations

import functools
import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest
import trustme
from click.testing import CliRunner
from lxml import etree

import preserve
from preserve.cli import main

from .conftest import ROOT, SHARED
from .corpus_proxy import CorpusProxy, corpus_proxy, guarded_getaddrinfo
from .test_metadata import load_schema

CORPUS = SHARED / "corpus"
EXPECTED_FILE = CORPUS / "expected-requisites.json"
EXPECTED: dict[str, list[str]] = (
    json.loads(EXPECTED_FILE.read_text(encoding="utf-8")) if EXPECTED_FILE.is_file() else {}
)

pytestmark = [pytest.mark.corpus, pytest.mark.shared("corpus")]
# Without the corpus there is one placeholder seed, so the shared mark skips (or, in CI, fails)
# each test rather than pytest skipping an empty parameter set for another reason.
SEEDS = sorted(EXPECTED) or ["corpus-not-here"]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusProxy]:
    with corpus_proxy(CORPUS, tmp_path_factory.mktemp("corpus-proxy")) as running:
        yield running


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any name lookup but loopback fail, so a capture that bypassed the proxy shows."""
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


def manifest_digests(bag: Path) -> set[str]:
    lines = (bag / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    return {line.split("  ", 1)[0] for line in lines}


RECORD_SCHEMAS = {
    "dc.xml": "qualifieddc.xsd",
    "oai_dc.xml": "oai_dc.xsd",
    "premis.xml": "premis-v3-0.xsd",
}


@functools.cache
def record_schema(name: str) -> etree.XMLSchema:
    return load_schema(name)


def check_capture(result: preserve.CaptureResult, seed: str, proxy: CorpusProxy) -> None:
    """Every listed requisite is in the bag by checksum; every miss is a recorded 404."""
    bagit.Bag(str(result.bag_path)).validate(fast=True)
    own = preserve.validate(result.bag_path, profile=ROOT / "schemas" / "bagit-profile.json")
    assert own.valid, own.problems
    for name, xsd in RECORD_SCHEMAS.items():
        record_schema(xsd).assertValid(etree.parse(str(result.bag_path / "data/metadata" / name)))
    title = etree.parse(str(result.bag_path / "data/metadata/dc.xml")).findtext(
        "{http://purl.org/dc/terms/}title"
    )
    assert title == result.title
    stored = manifest_digests(result.bag_path)
    seed_answer = proxy.archive.final(seed)
    assert seed_answer is not None
    assert hashlib.sha256(seed_answer.body).hexdigest() in stored
    for url in EXPECTED[seed]:
        answer = proxy.archive.final(url)
        assert answer is not None, f"{url} is listed but not in the corpus"
        assert hashlib.sha256(answer.body).hexdigest() in stored, url
        record = next(r for r in result.records if r.url == url)
        assert (record.role, record.outcome) == ("requisite", "captured"), url
    for record in result.records:
        if record.outcome != "failed":
            continue
        assert record.status == 404, (record.url, record.error)
        assert record.error == "HTTP 404 Not Found"
        final = record.final_url or record.url
        recorded = proxy.archive.answers.get(final)
        assert recorded is None or recorded.status == 404, final
    assert not any(r.outcome == "skipped" for r in result.records)


@pytest.mark.parametrize("seed", SEEDS)
def test_capture_through_the_standard_proxy_environment(
    seed: str, proxy: CorpusProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxy.ca_bundle))
    result = preserve.capture(seed, tmp_path)
    check_capture(result, seed, proxy)


@pytest.mark.parametrize("seed", SEEDS)
def test_capture_through_proxy_and_ca_bundle_options(
    seed: str, proxy: CorpusProxy, tmp_path: Path
) -> None:
    options = preserve.CaptureOptions(proxy=proxy.url, ca_bundle=proxy.ca_bundle)
    result = preserve.capture(seed, tmp_path, options)
    check_capture(result, seed, proxy)


def test_every_seed_from_the_command_line_exits_0(proxy: CorpusProxy, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(sorted(EXPECTED)) + "\n", encoding="utf-8")
    args = ["-q", "capture", "-i", str(seeds), "-o", str(tmp_path / "bags"), "--json"]
    args += ["--proxy", proxy.url, "--ca-bundle", str(proxy.ca_bundle)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [c["seed"] for c in document["captures"]] == sorted(EXPECTED)
    assert all(c["ok"] for c in document["captures"])
    https_seeds = [seed for seed in EXPECTED if seed.startswith("https:")]
    assert https_seeds, "the corpus must hold an https seed"


def test_a_capture_without_the_proxy_reaches_nothing(tmp_path: Path) -> None:
    with pytest.raises(preserve.FetchFailed, match="resolved"):
        preserve.capture("http://books.toscrape.com/", tmp_path, preserve.CaptureOptions(retries=0))


def test_linked_pages_of_a_real_site_stay_in_scope(proxy: CorpusProxy, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(
        proxy=proxy.url, ca_bundle=proxy.ca_bundle, depth=1, max_pages=6, linked_media=False
    )
    result = preserve.capture("http://www.iana.org/", tmp_path, options)
    pages = [r for r in result.records if r.role == "page"]
    attempted = [r for r in pages if r.outcome != "skipped"]
    assert len(attempted) == 5  # --max-pages 6 counts the seed
    assert all(r.url.startswith("http://www.iana.org/") for r in attempted)
    assert sum(r.outcome == "captured" for r in attempted) >= 4
    reasons = {r.reason for r in pages if r.outcome == "skipped"}
    assert reasons == {"scope", "limit"}
    assert all(r.depth == 1 and r.referrer == "http://www.iana.org/" for r in pages)
    # Only the seed's host was asked for robots.txt.
    assert [url for url in proxy.seen if url.endswith("/robots.txt")] == [
        "http://www.iana.org/robots.txt"
    ]


def test_ca_bundle_option_wins_over_the_environment(
    proxy: CorpusProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = tmp_path / "other-ca.pem"
    wrong.write_bytes(trustme.CA().cert_pem.bytes())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(wrong))
    options = preserve.CaptureOptions(proxy=proxy.url, ca_bundle=proxy.ca_bundle)
    result = preserve.capture("https://www.wikipedia.org/", tmp_path / "out", options)
    assert result.title is not None
