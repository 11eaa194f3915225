"""Dates, language tags, term names and links in the metadata records, and what `info` shows.

Each date term is checked alike (W3CDTF, a date-time with its zone); a language must be a
registered BCP 47 tag; `--dc` and `--metadata` read term names with one reader, which the
published schema matches; the page's dates are labelled in DC, bag-info and `info`, and the
capture's time is provenance; parts of a page and pages it links to are told apart.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import preserve
from preserve.cli import main
from preserve.errors import BadInput
from preserve.metadata import (
    CaptureFacts,
    PayloadFile,
    build_metadata,
    extract,
    parse_user_metadata,
)
from preserve.metadata.terms import DATE_TERMS, ORDER, term_name
from preserve.metadata.user import SCHEMA_ID
from preserve.metadata.values import MAX_LANGUAGE_TAG, language_tag, parse_date
from preserve.models import CaptureOptions, LogRecord, Role

from .conftest import ROOT, Server
from .test_metadata import CLOCK, DC, DCTERMS, PREMIS, digests, example_facts, load_schema

PUBLISHED = json.loads((ROOT / "schemas" / "metadata.schema.json").read_text(encoding="utf-8"))
BAD_DATES = ["15/10/2001", "2001-10-15T10:00", "2001-10-15 10:00", "2001-02-30", "circa 1990"]
GOOD_DATES = [
    ("2001", "2001"),
    ("2001-10-15", "2001-10-15"),
    ("2001-10-15T10:00+02:00", "2001-10-15T10:00:00+02:00"),
    ("2001-10-15T10:00:00Z", "2001-10-15T10:00:00Z"),
]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def dc_values(data: bytes) -> list[tuple[str, str]]:
    return [
        (str(child.tag).removeprefix(DCTERMS), child.text or "") for child in etree.fromstring(data)
    ]


# --- 1. every date term is checked alike ----------------------------------------------------


@pytest.mark.parametrize("term", sorted(DATE_TERMS))
@pytest.mark.parametrize("text", BAD_DATES)
def test_every_date_term_refuses_what_is_not_w3cdtf(term: str, text: str, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="W3CDTF") as given_pair:
        parse_user_metadata([f"{term}={text}"], None)
    assert given_pair.value.exit_code == 2
    path = write_json(tmp_path / "meta.json", {term: text})
    with pytest.raises(BadInput, match=re.escape(repr(term))):
        parse_user_metadata([], path)


@pytest.mark.parametrize("term", sorted(DATE_TERMS))
@pytest.mark.parametrize(("text", "written"), GOOD_DATES)
def test_every_date_term_keeps_a_w3cdtf_date(
    term: str, text: str, written: str, tmp_path: Path
) -> None:
    assert [v.text for v in parse_user_metadata([f"{term}={text}"], None).get(term)] == [written]
    path = write_json(tmp_path / "meta.json", {term: [text]})
    assert [v.text for v in parse_user_metadata([], path).get(term)] == [written]


@pytest.mark.parametrize("text", BAD_DATES[:2])
def test_capture_with_a_bad_dc_date_exits_2_before_any_fetch(
    site: Server, tmp_path: Path, text: str
) -> None:
    result = run("capture", site.url("/"), "-o", tmp_path / "out", "--dc", f"date={text}")
    assert result.exit_code == 2
    assert "'date=" in result.stderr
    assert "W3CDTF" in result.stderr
    assert site.requests == []


def test_published_schema_refuses_a_bad_date_for_every_date_term() -> None:
    for name in sorted(DATE_TERMS):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({name: "15/10/2001"}, PUBLISHED)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({name: ["2001", "2001-10-15T10:00"]}, PUBLISHED)
        jsonschema.validate({name: ["2001", "2001-10-15T10:00Z"]}, PUBLISHED)


# --- 2. language values are registered BCP 47 tags -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("english", None),
        ("English language", None),
        ("jp", None),
        ("abcd", None),
        ("abcdefgh", None),
        ("root", None),
        ("en-x", None),
        ("en-US-POSIX", None),
        ("en-Latnx", None),
        ("C", None),
        ("en-" + "a" * MAX_LANGUAGE_TAG, None),
        ("en", "en"),
        ("EN-gb", "en-GB"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("de-CH-1901", "de-CH-1901"),
        ("iw", "iw"),
        ("qaa", "qaa"),
        ("x-klingon", "x-klingon"),
        ("i-klingon", "i-klingon"),
        ("en-gb-oed", "en-GB-oed"),
        ("en-US-x-twain", "en-US-x-twain"),
    ],
)
def test_language_tag_must_be_registered(text: str, expected: str | None) -> None:
    assert language_tag(text) == expected


@settings(deadline=None, max_examples=300)
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet="abcdeilnqrstuxzABGLNSTUX-_0123456789", max_size=24),
        st.sampled_from(["en", "x", "i", "zh", "sgn"]).map(lambda s: s + "-"),
    )
)
def test_language_tag_of_any_text_is_a_tag_or_none(text: str) -> None:
    tag = language_tag(text)
    assert tag is None or (language_tag(tag) == tag and tag.isascii() and " " not in tag)


@pytest.mark.parametrize("pair", ["language=english", "language=jp", "language=abcd"])
def test_unregistered_language_is_refused(pair: str, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="BCP 47") as caught:
        parse_user_metadata([pair], None)
    assert caught.value.exit_code == 2
    name, _, value = pair.partition("=")
    with pytest.raises(BadInput, match="BCP 47"):
        parse_user_metadata([], write_json(tmp_path / "meta.json", {name: value}))


def test_capture_with_dc_language_english_exits_2(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "-o", tmp_path / "out", "--dc", "language=english")
    assert result.exit_code == 2
    assert "'english' is not a valid BCP 47 language tag" in result.stderr
    assert site.requests == []


def test_an_unregistered_page_language_is_dropped_for_the_next_source() -> None:
    page = (
        b'<html lang="english"><head><meta name="DC.language" content="jp">'
        b'<meta http-equiv="content-language" content="ur"></head></html>'
    )
    found = extract(page, final_url="http://example.test/", headers=(("Content-Language", "xx"),))
    assert [(v.text, v.source) for v in found.language] == [
        ("ur", 'meta http-equiv="content-language"')
    ]


def test_language_registry_is_loaded_only_when_a_language_is_read() -> None:
    probe = (
        "import sys\n"
        "from preserve.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('help:', 'langcodes' in sys.modules)\n"
        "from preserve.metadata.values import language_tag\n"
        "print('metadata:', 'langcodes' in sys.modules)\n"
        "language_tag('en-GB')\n"
        "print('language:', 'langcodes' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.splitlines()[-3:] == ["help: False", "metadata: False", "language: True"]


# --- 3. a local file's provenance says no HTTP took place ------------------------------------


def test_local_file_capture_states_where_format_and_source_came_from(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "page.html").write_text("<title>Saved</title><img src=a.gif>", encoding="utf-8")
    (saved / "a.gif").write_bytes(b"GIF89a")
    result = preserve.capture(str(saved / "page.html"), tmp_path / "out", clock=lambda: CLOCK)
    metadata = result.bag_path / "data" / "metadata"
    provenance = " ".join(
        text for term, text in dc_values((metadata / "dc.xml").read_bytes()) if term == "provenance"
    )
    assert "HTTP Content-Type" not in provenance
    assert "final URL" not in provenance
    assert "format from the file name's extension" in provenance
    assert "source from the file's path relative to the seed's folder" in provenance
    assert "from the local file file:page.html" in provenance
    assert "no HTTP took place" in provenance
    premis = etree.parse(str(metadata / "premis.xml"))
    load_schema("premis-v3-0.xsd").assertValid(premis)
    detail = premis.findtext(f".//{PREMIS}eventDetail") or ""
    assert detail.startswith("read the local file file:page.html")
    for name in ("dc.xml", "premis.xml", "metadata.csv", "oai_dc.xml"):
        assert str(tmp_path) not in (metadata / name).read_text(encoding="utf-8")


def test_http_capture_still_credits_the_content_type(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b"<title>Served</title>", headers={"Content-Type": "text/html"})
    result = preserve.capture(http.url("/"), tmp_path / "out", CaptureOptions(retries=0))
    provenance = " ".join(
        text
        for term, text in dc_values((result.bag_path / "data/metadata/dc.xml").read_bytes())
        if term == "provenance"
    )
    assert "format from HTTP Content-Type; source from final URL" in provenance
    assert "local file" not in provenance


# --- 4. the page's dates, labelled; the capture's time as provenance -------------------------

DATED_PAGE = (
    b"<html><head><title>Dated</title>"
    b'<meta name="DCTERMS.created" content="2001-09-01">'
    b'<meta name="DC.date.issued" content="2001-10-01">'
    b'<meta name="DCTERMS.modified" content="2001-10-12T08:00:00Z">'
    b"</head></html>"
)


def dated_facts(page: bytes = DATED_PAGE) -> CaptureFacts:
    return replace(
        example_facts(),
        page=page,
        size=len(page),
        response_headers=(("Last-Modified", "Sun, 14 Oct 2001 18:02:00 GMT"),),
    )


def test_page_dates_are_labelled_and_the_capture_time_is_provenance() -> None:
    records = build_metadata(dated_facts())
    values = dc_values(records.files["dc.xml"])
    assert [(t, v) for t, v in values if t in ("created", "issued", "modified", "date")] == [
        ("issued", "2001-10-01"),
        ("modified", "2001-10-12T08:00:00Z"),
        ("created", "2001-09-01"),
    ]
    when = "2001-10-15T09:30:00Z"
    assert [t for t, v in values if when in v] == ["provenance"]
    assert [label for label, _ in records.bag_info] == [
        "Internal-Sender-Description",
        "DC-Title",
        "DC-Source",
        "DC-Created",
        "DC-Issued",
        "DC-Modified",
    ]
    assert records.bag_info[-3:] == (
        ("DC-Created", "2001-09-01"),
        ("DC-Issued", "2001-10-01"),
        ("DC-Modified", "2001-10-12T08:00:00Z"),
    )
    oai = etree.fromstring(records.files["oai_dc.xml"])
    assert [e.text for e in oai.iter(f"{DC}date")] == ["2001-10-01"]


@pytest.mark.parametrize(
    ("page", "dc", "expected"),
    [
        (DATED_PAGE, (), "2001-10-01"),
        (DATED_PAGE, ("date=1999",), "1999"),
        (DATED_PAGE.replace(b"DC.date.issued", b"x"), (), "2001-09-01"),
        (b"<title>Only the server says</title>", (), "2001-10-14T18:02:00Z"),
    ],
)
def test_oai_dc_has_one_date_chosen_in_order(
    page: bytes, dc: tuple[str, ...], expected: str
) -> None:
    records = build_metadata(dated_facts(page), parse_user_metadata(dc, None))
    oai = etree.fromstring(records.files["oai_dc.xml"])
    assert [e.text for e in oai.iter(f"{DC}date")] == [expected]
    load_schema("oai_dc.xsd").assertValid(oai)


def test_no_page_date_means_no_dc_date_and_no_date_mirror() -> None:
    facts = replace(dated_facts(b"<title>Undated</title>"), response_headers=())
    records = build_metadata(facts)
    oai = etree.fromstring(records.files["oai_dc.xml"])
    assert list(oai.iter(f"{DC}date")) == []
    mirrors = {"DC-Created", "DC-Issued", "DC-Modified", "DC-Date"}
    assert not mirrors & {label for label, _ in records.bag_info}
    assert [t for t, _ in dc_values(records.files["dc.xml"]) if t in DATE_TERMS] == []


def test_info_shows_the_capture_time_and_the_page_dates(http: Server, tmp_path: Path) -> None:
    http.route(
        "/",
        body=DATED_PAGE,
        headers={"Content-Type": "text/html", "Last-Modified": "Sun, 14 Oct 2001 18:02:00 GMT"},
    )
    result = preserve.capture(
        http.url("/"), tmp_path / "out", CaptureOptions(retries=0), clock=lambda: CLOCK
    )
    info = (result.bag_path / "bag-info.txt").read_text(encoding="utf-8")
    assert "DC-Issued: 2001-10-01\n" in info
    assert "DC-Date" not in info
    text = run("info", result.bag_path)
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert "captured:      2001-10-15T09:30:00Z" in lines
    assert "page created:  2001-09-01" in lines
    assert "page issued:   2001-10-01" in lines
    assert "page modified: 2001-10-12T08:00:00Z" in lines
    assert not any(line.startswith("date:") for line in lines)
    data = json.loads(run("info", "--json", result.bag_path).stdout)
    assert data["captured"] == "2001-10-15T09:30:00Z"
    assert data["page_dates"] == {
        "created": "2001-09-01",
        "issued": "2001-10-01",
        "modified": "2001-10-12T08:00:00Z",
    }


# --- 5. parts of the page and the resources it links to --------------------------------------


def linked_facts() -> CaptureFacts:
    base = "http://127.0.0.1:8001/"

    def captured(path: str, role: Role, depth: int, referrer: str = base) -> LogRecord:
        return LogRecord(base + path, role, "captured", depth=depth, referrer=referrer)

    records = (
        LogRecord(base, "seed", "captured", payload_path="data/web/127.0.0.1+8001/index.html"),
        captured("style.css", "requisite", 0),
        captured("frame.html", "frame", 0),
        captured("in-frame.gif", "requisite", 0, base + "frame.html"),
        captured("next.html", "page", 1),
        captured("report.pdf", "media", 1),
        captured("next.gif", "requisite", 1, base + "next.html"),
        captured("deeper.html", "page", 2, base + "next.html"),
        captured("deeper.mp3", "media", 2, base + "next.html"),
        LogRecord(base + "gone.html", "page", "failed", depth=1, status=404),
    )
    return replace(example_facts(), records=records)


def test_parts_are_requisites_and_frames_linked_pages_and_media_are_references() -> None:
    records = build_metadata(linked_facts())
    values = dc_values(records.files["dc.xml"])
    base = "http://127.0.0.1:8001/"
    assert [v for t, v in values if t == "hasPart"] == [
        base + "style.css",
        base + "frame.html",
        base + "in-frame.gif",
    ]
    assert [v for t, v in values if t == "references"] == [base + "next.html", base + "report.pdf"]
    oai = etree.fromstring(records.files["oai_dc.xml"])
    relations = [e.text for e in oai.iter(f"{DC}relation")]
    assert base + "next.html" in relations
    assert base + "style.css" in relations
    assert base + "next.gif" not in relations
    header = next(csv.reader(io.StringIO(records.files["metadata.csv"].decode("utf-8"))))
    assert "dcterms.hasPart" not in header
    assert "dcterms.references" not in header


def test_a_user_s_references_are_kept_in_metadata_csv() -> None:
    user = parse_user_metadata(["references=https://example.org/cited"], None)
    records = build_metadata(linked_facts(), user)
    rows = list(csv.reader(io.StringIO(records.files["metadata.csv"].decode("utf-8"))))
    assert [v for h, v in zip(*rows, strict=True) if h == "dcterms.references"] == [
        "https://example.org/cited"
    ]
    dc = [v for t, v in dc_values(records.files["dc.xml"]) if t == "references"]
    assert dc == [
        "http://127.0.0.1:8001/next.html",
        "http://127.0.0.1:8001/report.pdf",
        "https://example.org/cited",
    ]


def serve_linking_page(http: Server) -> None:
    """Serve a front page with a requisite, a linked page (with its own requisite) and a PDF."""
    html = {"Content-Type": "text/html"}
    gif = {"Content-Type": "image/gif"}
    http.route(
        "/",
        body=b'<title>Front</title><img src="/a.gif"><a href="/next.html">next</a>'
        b'<a href="/report.pdf">report</a>',
        headers=html,
    )
    http.route("/next.html", body=b'<title>Next</title><img src="/b.gif">', headers=html)
    http.route("/a.gif", body=b"GIF89a", headers=gif)
    http.route("/b.gif", body=b"GIF89a-b", headers=gif)
    http.route("/report.pdf", body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"})


def test_captured_links_are_references_not_parts(http: Server, tmp_path: Path) -> None:
    serve_linking_page(http)
    result = preserve.capture(http.url("/"), tmp_path / "out", CaptureOptions(retries=0, depth=1))
    assert result.count(role="media", outcome="captured") == 1
    assert result.count(role="requisite", outcome="captured") == 2
    dc = result.bag_path / "data/metadata/dc.xml"
    values = dc_values(dc.read_bytes())
    assert [v for t, v in values if t == "hasPart"] == [http.url("/a.gif")]
    assert sorted(v for t, v in values if t == "references") == [
        http.url("/next.html"),
        http.url("/report.pdf"),
    ]
    load_schema("qualifieddc.xsd").assertValid(etree.parse(str(dc)))


# --- 6. PREMIS names the CDXJ's format ---------------------------------------------------------


def test_premis_names_the_warc_and_cdxj_formats(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b"<title>Indexed</title>", headers={"Content-Type": "text/html"})
    result = preserve.capture(http.url("/"), tmp_path / "out", CaptureOptions(retries=0))
    premis = etree.parse(str(result.bag_path / "data/metadata/premis.xml"))
    load_schema("premis-v3-0.xsd").assertValid(premis)
    formats = {
        o.findtext(f"{PREMIS}originalName"): (
            o.findtext(f".//{PREMIS}formatName"),
            o.findtext(f".//{PREMIS}formatNote"),
        )
        for o in premis.iter(f"{PREMIS}object")
    }
    warc = [path for path in formats if path and path.endswith(".warc.gz")]
    cdxj = [path for path in formats if path and path.endswith(".cdxj")]
    assert len(warc) == len(cdxj) == 1
    assert formats[warc[0]] == ("application/warc", None)
    name, note = formats[cdxj[0]]
    assert name == "CDXJ"
    assert note is not None
    assert "https://specs.webrecorder.net/cdxj/" in note
    assert "unknown" not in {name for name, _ in formats.values()}


# --- 7. metadata.csv names the WARC when only the WARC holds the seed -------------------------


def test_metadata_csv_names_the_warc_with_payload_warc(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b"<title>Only in the WARC</title>", headers={"Content-Type": "text/html"})
    options = CaptureOptions(retries=0, payload="warc")
    result = preserve.capture(http.url("/"), tmp_path / "out", options)
    data = (result.bag_path / "data/metadata/metadata.csv").read_text(encoding="utf-8")
    header, row = csv.reader(io.StringIO(data))
    assert header[0] == "filename"
    assert re.fullmatch(r"data/warc/[^/]+\.warc\.gz", row[0])
    assert (result.bag_path / row[0]).is_file()
    manifest = (result.bag_path / "manifest-sha256.txt").read_text(encoding="utf-8")
    assert f"  {row[0]}\n" in manifest
    assert ("dc.title", "Only in the WARC") in zip(header, row, strict=True)


def test_metadata_csv_prefers_the_seed_file_to_the_warc() -> None:
    facts = example_facts()
    warc = PayloadFile("data/warc/x.warc.gz", 10, digests(b"x"), "application/warc", None)
    both = replace(facts, files=(*facts.files, warc))
    data = build_metadata(both).files["metadata.csv"].decode("utf-8")
    assert next(csv.reader(io.StringIO(data.splitlines()[1])))[0] == facts.files[0].path
    warc_only = replace(facts, records=facts.records[1:], files=(warc,))
    data = build_metadata(warc_only).files["metadata.csv"].decode("utf-8")
    assert next(csv.reader(io.StringIO(data.splitlines()[1])))[0] == "data/warc/x.warc.gz"


# --- 8 and 9. one reader of term names; an error points where every user can look ------------


def test_metadata_file_takes_the_names_dc_takes(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "meta.json",
        {
            "dc.title": "From dc.title",
            "dcterms:alternative": ["Alt"],
            "DCTERMS.Subject": ["a", "b"],
            "dc:Date": "2001",
        },
    )
    user = parse_user_metadata([], path)
    assert user.terms() == ("title", "alternative", "subject", "date")
    assert [v.text for v in user.get("title")] == ["From dc.title"]
    from_dc = parse_user_metadata(["dc.title=From dc.title", "dcterms:alternative=Alt"], None)
    assert [v.text for v in from_dc.get("title")] == [v.text for v in user.get("title")]
    for name in ("dc.title", "dcterms.title", "dcterms:title", "Title"):
        file_user = parse_user_metadata([], write_json(tmp_path / "one.json", {name: "x"}))
        assert file_user.terms() == ("title",)
        jsonschema.validate({name: "x"}, PUBLISHED)


def test_two_names_of_one_term_in_a_file_are_refused(tmp_path: Path) -> None:
    path = write_json(tmp_path / "meta.json", {"title": "a", "dc.title": "b"})
    with pytest.raises(BadInput, match=re.escape("'title' and 'dc.title' both give 'title'")):
        parse_user_metadata([], path)


@pytest.mark.parametrize(
    "text",
    [
        '{"titel": "x"}',
        '{"date": "15/10/2001"}',
        '{"language": "english"}',
        '{"title": "a", "dc.title": "b"}',
        '{"title": "a",}',
    ],
)
def test_bad_file_hint_points_to_what_every_user_has(tmp_path: Path, text: str) -> None:
    path = tmp_path / "meta.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as caught:
        parse_user_metadata([], path)
    assert caught.value.hint is not None
    assert SCHEMA_ID in caught.value.hint
    assert "README, section Metadata" in caught.value.hint
    assert "schemas/README.md" not in str(caught.value)


NAME_PIECES = st.sampled_from(
    [
        "dc",
        "DC",
        "dcterms",
        "DCTerms",
        ".",
        ":",
        "_",
        " ",
        "\n",
        "title",
        "TITLE",
        "hasPart",
        "haspart",
        "date",
        "Issued",
        "x",
        "é",
        "K",
        "$schema",
    ]
)


@settings(deadline=None, max_examples=400)
@given(st.lists(NAME_PIECES, max_size=4).map("".join) | st.text(max_size=12))
def test_published_schema_accepts_exactly_the_names_term_name_reads(name: str) -> None:
    validator = jsonschema.Draft202012Validator(PUBLISHED)
    accepted = validator.is_valid({name: "2001"})
    if name == "$schema":
        assert accepted
    elif not name.endswith("\n"):
        # Python's `$` also matches before a final newline; ECMA-262's does not. The reader
        # refuses such a name all the same.
        assert accepted == (term_name(name) is not None), name
    elif accepted:
        assert term_name(name) is None


JSON_VALUES = st.one_of(
    st.text(max_size=12),
    st.lists(st.text(max_size=12), max_size=3),
    st.sampled_from(["2001", "2001-10-15T10:00", "en-GB", "english", 7, None, []]),
)
METADATA_DOCUMENTS = st.dictionaries(
    st.sampled_from(ORDER) | st.lists(NAME_PIECES, max_size=3).map("".join), JSON_VALUES, max_size=4
).map(lambda document: json.dumps(document).encode())


@settings(deadline=None, max_examples=300)
@given(data=st.binary(max_size=300) | METADATA_DOCUMENTS)
def test_any_metadata_file_gives_values_or_bad_input(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("meta") / "meta.json"
    path.write_bytes(data)
    try:
        user = parse_user_metadata([], path)
    except BadInput as exc:
        assert exc.exit_code == 2
    else:
        assert all(term in ORDER for term in user.terms())


@settings(deadline=None, max_examples=300)
@given(st.lists(NAME_PIECES, max_size=3).map("".join), st.text(max_size=30))
def test_any_dc_pair_gives_a_value_or_bad_input(name: str, value: str) -> None:
    try:
        user = parse_user_metadata([f"{name}={value}"], None)
    except BadInput as exc:
        assert exc.exit_code == 2
    else:
        assert user.terms() == (term_name(name.strip()),)


# --- 10. `info` counts the linked media, as the capture's summary does -----------------------


def test_info_shows_the_linked_media(http: Server, tmp_path: Path) -> None:
    serve_linking_page(http)
    result = preserve.capture(http.url("/"), tmp_path / "out", CaptureOptions(retries=0, depth=1))
    text = run("info", result.bag_path).stdout
    capture = next(line for line in text.splitlines() if line.startswith("capture:"))
    assert capture == (
        "capture:       2 pages, 0 frames, 2 requisites captured (0 failed, 0 skipped),"
        " 1 linked media captured (0 failed, 0 skipped)"
    )
    data = json.loads(run("info", "--json", result.bag_path).stdout)
    assert data["capture"]["media"] == 1
    assert data["capture"]["counts"]["media"] == {"captured": 1}
    without = preserve.capture(http.url("/"), tmp_path / "none", CaptureOptions(retries=0))
    line = next(x for x in run("info", without.bag_path).stdout.splitlines() if "capture:" in x)
    assert "linked media" not in line
    assert json.loads(run("info", "--json", without.bag_path).stdout)["capture"]["media"] == 0


# --- years as written ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("0099", "0099"),
        ("0099-01-02", "0099-01-02"),
        ("0099-01-02T10:00Z", "0099-01-02T10:00:00Z"),
        ("0099-01-02T10:00:00+01:00", "0099-01-02T10:00:00+01:00"),
        ("Mon, 15 Oct 0001 09:30:00 GMT", "0001-10-15T09:30:00Z"),
        ("Sat, 15 Oct 55 09:30:00 GMT", "1955-10-15T09:30:00Z"),
        ("Sat, 15 Oct 49 09:30:00 GMT", "2049-10-15T09:30:00Z"),
        ("15 Oct 101 09:30 GMT", "2001-10-15T09:30:00Z"),
        ("Mon, 15 Oct 2001 09:30:00 +0200", "2001-10-15T09:30:00+02:00"),
        ("Mon, 15 Oct 2001 09:30:00", "2001-10-15"),
        ("Sun, 29 Feb 0004 10:00:00 GMT", "0004-02-29T10:00:00Z"),
        ("29 Feb 2001 10:00 GMT", None),
        ("0000", None),
    ],
)
def test_years_are_kept_as_written(text: str, written: str | None) -> None:
    # RFC 2822 §4.3: a two-digit year below 50 is 20xx, from 50 19xx; a three-digit one
    # 1900 more; a four-digit one is that year, 0001 included.
    assert parse_date(text) == written


@settings(max_examples=2000)
@given(st.text(max_size=60))
def test_any_text_is_a_w3cdtf_date_or_none(text: str) -> None:
    found = parse_date(text)
    assert found is None or re.fullmatch(
        r"\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?)?)?", found
    )
