"""The batch manifest reader: CSV, JSON Lines and URL lists, each row checked or its problems."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.batch.manifest import (
    MAX_PROBLEMS,
    ManifestProblem,
    manifest_format,
    open_manifest,
    read_manifest,
)
from preserve.batch.rows import Row, row_options
from preserve.capture.seeds import parse_seed
from preserve.errors import BadInput
from preserve.models import BagInfo, CaptureOptions

BASE = CaptureOptions()


def read(data: bytes, fmt: str = "csv", base: CaptureOptions = BASE) -> list[Row | ManifestProblem]:
    return list(read_manifest(io.BytesIO(data), fmt, base))  # type: ignore[arg-type]


def rows(data: bytes, fmt: str = "csv", base: CaptureOptions = BASE) -> list[Row]:
    found = read(data, fmt, base)
    assert all(isinstance(item, Row) for item in found), found
    return found  # type: ignore[return-value]


def problems(data: bytes, fmt: str = "csv", base: CaptureOptions = BASE) -> list[str]:
    return [str(item) for item in read(data, fmt, base) if isinstance(item, ManifestProblem)]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("seeds.csv", "csv"),
        ("SEEDS.CSV", "csv"),
        ("dir.csv/seeds.jsonl", "jsonl"),
        ("seeds.txt", "list"),
        ("seeds", "list"),
        ("seeds.json", "list"),
        ("-", "list"),
    ],
)
def test_the_format_is_read_from_the_name(name: str, fmt: str) -> None:
    assert manifest_format(name) == fmt


def test_an_archivematica_style_csv_repeats_a_column_for_several_values() -> None:
    data = (
        b"url,dc.title,dc.subject,dc.subject,dcterms.isPartOf,dc.date,dc.language\n"
        b"https://example.org/a,Annual report,finance,budgets,Reports 2020,2020-05-01,en-GB\n"
        b"http://Example.ORG,Home,,,Site,,\n"
    )
    first, second = rows(data)
    assert first == Row(
        line=2,
        id="https://example.org/a",
        url="https://example.org/a",
        dc=(
            ("dc.title", "Annual report"),
            ("dc.subject", "finance"),
            ("dc.subject", "budgets"),
            ("dcterms.isPartOf", "Reports 2020"),
            ("dc.date", "2020-05-01"),
            ("dc.language", "en-GB"),
        ),
    )
    # An empty cell gives nothing; the URL is checked, and the id defaults to it as checked.
    assert second.dc == (("dc.title", "Home"), ("dcterms.isPartOf", "Site"))
    assert second.url == second.id == "http://example.org/"


def test_csv_ids_names_bag_info_and_typed_options() -> None:
    data = (
        b"URL,id,name,bag-info.Source-Organization,bag-info.Project,bag-info.Project,"
        b"depth,max-size,max_bytes,max-pages,browser,linked-media,Ignore-Robots,strict,"
        b"include,include,exclude,scope,payload,serialize,metadata-location,access\n"
        b"https://example.org/,r1,report-2020,Archives,P1,P2,"
        b"2,500K,1.5G,40,yes,no,TRUE,0,"
        b"/docs/,/pdf/,\\?print,Domain,warc,tar.gz,tag,1\n"
    )
    (row,) = rows(data)
    assert (row.id, row.name) == ("r1", "report-2020")
    assert row.bag_info == (
        ("Source-Organization", "Archives"),
        ("Project", "P1"),
        ("Project", "P2"),
    )
    assert dict(row.options) == {
        "depth": 2,
        "max_size": 500 * 1024,
        "max_bytes": 3 * 1024**3 // 2,
        "max_pages": 40,
        "browser": True,
        "linked_media": False,
        "ignore_robots": True,
        "strict": False,
        "include": ("/docs/", "/pdf/"),
        "exclude": ("\\?print",),
        "scope": "domain",
        "payload": "warc",
        "serialize": "tar.gz",
        "metadata_location": "tag",
        "access": True,
    }
    assert Row.from_json(json.loads(json.dumps(row.to_json()))) == row


def test_a_byte_order_mark_crlf_and_a_quoted_line_break() -> None:
    data = (
        b"\xef\xbb\xbfurl,dc.title,dc.description\r\n"
        b'https://example.org/1,"Title, with comma","two\r\nlines"\r\n'
        b"\r\n"
        b'https://example.org/2,"She said ""hi""",\r\n'
    )
    first, second = rows(data)
    assert first.dc == (("dc.title", "Title, with comma"), ("dc.description", "two\nlines"))
    assert (first.line, second.line) == (2, 5)
    assert second.dc == (("dc.title", 'She said "hi"'),)


def test_json_lines_take_strings_lists_numbers_and_booleans() -> None:
    data = b"\n".join(
        [
            b'\xef\xbb\xbf{"url": "https://example.org/", "id": 17, "dc.subject": ["a", "b"],'
            b' "dc.title": "T", "include": ["x", "y"], "exclude": "z", "depth": 1,'
            b' "max_size": "2G", "max-bytes": 1000, "browser": true, "access": "no"}',
            b"",
            b'{"url": "https://example.org/b", "name": null, "dc.title": "", "depth": null}',
        ]
    )
    first, second = rows(data, "jsonl")
    assert first.id == "17"
    assert first.dc == (("dc.subject", "a"), ("dc.subject", "b"), ("dc.title", "T"))
    assert dict(first.options) == {
        "include": ("x", "y"),
        "exclude": ("z",),
        "depth": 1,
        "max_size": 2 * 1024**3,
        "max_bytes": 1000,
        "browser": True,
        "access": False,
    }
    assert second == Row(line=3, id="https://example.org/b", url="https://example.org/b")


def test_a_url_list_is_read_as_capture_i_reads_one(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>hi</p>")
    data = f"\ufeff# seeds\r\nhttps://example.org\r\n\r\n   \n  http://b.example/x  \n{page}\n"
    found = rows(data.encode(), "list")
    assert [(row.line, row.id, row.url) for row in found] == [
        (2, "https://example.org/", "https://example.org/"),
        (5, "http://b.example/x", "http://b.example/x"),
        (6, page.as_uri(), page.as_uri()),
    ]


def test_open_manifest_reads_files_and_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_bytes(b"url\nhttps://example.org/\n")
    with open_manifest(str(manifest)) as stream:
        assert [row.url for row in rows(stream.read())] == ["https://example.org/"]
    stdin = io.TextIOWrapper(io.BytesIO(b"https://example.org/\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    with open_manifest("-") as stream:
        assert [row.url for row in read_manifest(stream, "list", BASE)] == [  # type: ignore[union-attr]
            "https://example.org/"
        ]
    assert not stdin.closed
    with (
        pytest.raises(BadInput, match=r"cannot read manifest .*missing\.csv"),
        open_manifest(str(tmp_path / "missing.csv")),
    ):
        pass
    with pytest.raises(BadInput, match="cannot read manifest"), open_manifest(str(tmp_path)):
        pass


def test_a_rows_values_win_over_the_command_lines() -> None:
    base = CaptureOptions(
        depth=0,
        scope="host",
        include=("/base/",),
        dc=("dc.title=Command line title", "creator=Archives"),
        bag_info=BagInfo(source_organization="Base org", extra=(("Project", "Base"), ("Box", "7"))),
    )
    data = (
        b"url,dc.title,bag-info.Source-Organization,bag-info.Project,depth,include\n"
        b"https://example.org/,Row title,Row org,Row project,3,/row/\n"
        b"https://example.org/plain,,,,,\n"
    )
    first, second = rows(data, base=base)
    options = row_options(base, first)
    assert options.dc == ("creator=Archives", "dc.title=Row title")
    assert options.bag_info.source_organization == "Row org"
    assert options.bag_info.extra == (("Box", "7"), ("Project", "Row project"))
    assert (options.depth, options.scope, options.include) == (3, "host", ("/row/",))
    assert row_options(base, second) == base


PROBLEMS = [
    # (format, manifest, the problems it has)
    (
        "csv",
        b"url\nhttps://example.org/\nnot a url\n",
        ["3: not a URL or an existing file: not a url"],
    ),
    (
        "csv",
        b"url\nexample.org\n",
        ["2: not a URL or an existing file: example.org (did you mean http://example.org?)"],
    ),
    (
        "csv",
        b"url,dc.date\nhttps://a.example/,2020-13-45\n",
        ["2: dc.date: '2020-13-45' is not a W3CDTF date"],
    ),
    (
        "csv",
        b"url,dc.language\nhttps://a.example/,english please\n",
        ["2: dc.language: 'english please' is not a valid BCP 47"],
    ),
    (
        "csv",
        b"url,dc.titel,Depht,colour\nhttps://a.example/,x,1,red\n",
        [
            "1: unknown column 'dc.titel' (did you mean 'dc.title'?)",
            "1: unknown column 'Depht' (did you mean 'depth'?)",
            "1: unknown column 'colour'",
        ],
    ),
    (
        "jsonl",
        b'{"url": "https://a.example/"}\n{"url": "https://a.example/", "max_page": 3}\n',
        ["2: unknown column 'max_page' (did you mean 'max-pages'?)"],
    ),
    (
        "csv",
        b"url,depth\nhttps://a.example/,deep\n",
        ["2: depth: must be a whole number, not 'deep'"],
    ),
    ("csv", b"url,depth\nhttps://a.example/,-1\n", ["2: depth: must be a whole number, not '-1'"]),
    (
        "csv",
        b"url,depth\nhttps://a.example/,5000\n",
        ["2: --depth must be from 0 to 1000, not 5000"],
    ),
    (
        "csv",
        b"url,max-size\nhttps://a.example/,2X\n",
        ["2: max-size: must be a size such as 500K or 2G"],
    ),
    (
        "csv",
        b"url,browser\nhttps://a.example/,maybe\n",
        ["2: browser: must be true or false (yes/no, 1/0), not 'maybe'"],
    ),
    (
        "csv",
        b"url,scope\nhttps://a.example/,planet\n",
        ["2: scope: must be one of page, host, domain, prefix, not 'planet'"],
    ),
    (
        "csv",
        b"url,include\nhttps://a.example/,(\n",
        ["2: --include '(' is not a valid regular expression"],
    ),
    (
        "csv",
        b"url,name\nhttps://a.example/,a/b\n",
        ["2: invalid bag name 'a/b': it contains a slash"],
    ),
    (
        "csv",
        b"url,name\nhttps://a.example/,..\n",
        ["2: invalid bag name '..': it is empty, . or .."],
    ),
    (
        "csv",
        b"url,name\nhttps://a.example/,.preserve-staging-x\n",
        ["2: invalid bag name '.preserve-staging-x'"],
    ),
    ("csv", b"url,name\nhttps://a.example/," + b"n" * 250 + b"\n", ["2: invalid bag name 'nnn"]),
    ("csv", b'url,id\nhttps://a.example/,"a\nb"\n', ["2: id 'a\\nb' holds a line break"]),
    (
        "csv",
        b"url,dc.title\nhttps://a.example/,caf\xe9\nhttps://b.example/,ok\n\xff,x\n",
        ["2: not UTF-8 text", "4: not UTF-8 text"],
    ),
    (
        "csv",
        b'url,dc.title\nhttps://a.example/,"Title"oops\nhttps://b.example/,ok\n',
        ["2: not valid CSV: ',' expected after '\"'"],
    ),
    (
        "csv",
        b'url,dc.title\nhttps://a.example/,"never closed\nhttps://b.example/,ok\n',
        ["2: not valid CSV: unexpected end of data"],
    ),
    (
        "csv",
        b"url,dc.title\nhttps://a.example/,t,extra\n",
        ["2: 3 fields, more than the header's 2"],
    ),
    (
        "csv",
        b"url,url\nhttps://a.example/,https://b.example/\n",
        ["1: columns 'url' and 'url' both give url"],
    ),
    (
        "csv",
        b"url,max-pages,max_pages\nhttps://a.example/,1,2\n",
        ["1: columns 'max-pages' and 'max_pages' both give max_pages"],
    ),
    ("csv", b"dc.title\nT\n", ["1: no url column"]),
    ("csv", b"", ["1: no header row"]),
    ("csv", b"\n\n", ["1: no header row"]),
    ("csv", b"url\rhttps://a.example/\r", ["1: not valid CSV: a line ends in CR alone"]),
    (
        "csv",
        b"https://a.example/,Title\n",
        ["1: unknown column 'https://a.example/'", "1: no url column"],
    ),
    (
        "csv",
        b"url,bag-info.Payload-Oxum\nhttps://a.example/,1.1\n",
        ["1: column 'bag-info.Payload-Oxum': Payload-Oxum is written by preserve"],
    ),
    (
        "csv",
        b"url,bag-info.Bad:Label\nhttps://a.example/,x\n",
        ["1: column 'bag-info.Bad:Label': invalid bag-info label"],
    ),
    (
        "csv",
        b"url,,dc.title\nhttps://a.example/,stray,T\n",
        ["2: a value under a column with no name"],
    ),
    ("csv", b"id,url\nr1,\n", ["2: no url"]),
    ("list", b"~no-such-user!/page.html\n", ["1: not a URL or an existing file: ~no-such-user!"]),
    (
        "list",
        b"https://a.example/\n\xff\xfe\nftp://x.example/\n",
        ["2: not UTF-8 text", "3: unsupported URL scheme 'ftp'"],
    ),
    (
        "jsonl",
        b'{"url": "https://a.example/"}\n[1, 2]\n"text"\n',
        ["2: not a JSON object but a list", "3: not a JSON object but 'text'"],
    ),
    (
        "jsonl",
        b'{"url": "https://a.example/",}\n',
        ["1: not valid JSON: Expecting property name enclosed in double quotes at column 30"],
    ),
    (
        "jsonl",
        b'{"url": 5}\n{"url": ["https://a.example/"]}\n',
        ["1: url: must be text, not 5", "2: url: must be text, not a list"],
    ),
    (
        "jsonl",
        b'{"url": "https://a.example/", "dc.subject": ["a", {"b": 1}]}\n',
        ["1: dc.subject: must be text, not an object"],
    ),
    (
        "jsonl",
        b'{"url": "https://a.example/", "depth": 1.5, "browser": "perhaps", "strict": 1}\n',
        [
            "1: depth: must be a whole number, not 1.5",
            "1: browser: must be true or false (yes/no, 1/0), not 'perhaps'",
            "1: strict: must be true or false (yes/no, 1/0), not 1",
        ],
    ),
    (
        "jsonl",
        b'{"url": "https://a.example/", "url": "https://b.example/"}\n',
        ["1: key 'url' is given twice"],
    ),
    (
        "jsonl",
        b'{"url": "https://a.example/", "max-pages": 1, "max_pages": 2}\n',
        ["1: max_pages: gives max_pages again, after 'max-pages'"],
    ),
    ("jsonl", b'{"url": "https://a.example/\\ud800"}\n', ["1: url: holds a lone surrogate"]),
    ("jsonl", b'{"url": "https://a.example/", "dc.title": "caf\xe9"}\n', ["1: not UTF-8 text"]),
    (
        "jsonl",
        b'{"url": "https://a.example/", "include": "' + b"(" * 5000 + b')"}\n',
        ["1: --include '((("],
    ),
]


@pytest.mark.parametrize(("fmt", "data", "expected"), PROBLEMS)
def test_each_problem_is_listed_with_its_line(fmt: str, data: bytes, expected: list[str]) -> None:
    found = problems(data, fmt)
    assert len(found) == len(expected), found
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start), found


def test_a_pattern_python_warns_about_is_still_a_pattern() -> None:
    (row,) = rows(b"url,include\nhttps://a.example/,[[a]\n")
    assert dict(row.options) == {"include": ("[[a]",)}


def test_reading_goes_on_after_a_problem_and_keeps_the_good_rows() -> None:
    data = b"url,depth\nnot a url,x\nhttps://a.example/,1\n\xff,1\nhttps://b.example/,2\n"
    found = read(data)
    assert [type(item).__name__ for item in found] == [
        "ManifestProblem",
        "ManifestProblem",
        "Row",
        "ManifestProblem",
        "Row",
    ]
    assert [item.line for item in found] == [2, 2, 3, 4, 5]


def test_a_line_longer_than_the_bound_is_a_problem_and_the_next_is_read() -> None:
    long_title = b"x" * (1024 * 1024 + 10)
    data = b"url,dc.title\nhttps://a.example/," + long_title + b"\nhttps://b.example/,ok\n"
    assert problems(data) == ["2: line longer than 1,048,576 bytes"]
    assert [row.line for row in read(data) if isinstance(row, Row)] == [3]
    data = (
        b'{"url": "https://a.example/", "dc.title": "'
        + long_title
        + b'"}\n{"url": "https://b.example/"}\n'
    )
    assert problems(data, "jsonl") == ["1: line longer than 1,048,576 bytes"]
    assert problems(b"https://a.example/" + b"x" * 9000 + b"\nhttps://b.example/\n", "list") == [
        "1: line longer than 8,192 bytes"
    ]


def test_a_record_spanning_lines_is_bounded_too() -> None:
    chunk = b"y" * 1000 + b"\n"
    data = b'url,dc.description\nhttps://a.example/,"' + chunk * 1100 + b'"\n'
    found = problems(data)
    assert found[0] == "2: a record longer than 1,048,576 bytes"


def test_a_row_holds_at_most_10000_values() -> None:
    subjects = json.dumps(["s"] * 6000)
    line = f'{{"url": "https://a.example/", "dc.subject": {subjects}, "include": {subjects}}}'
    assert problems(line.encode(), "jsonl") == ["1: more than 10,000 values"]
    assert problems(b"url" + b",x" * 1001 + b"\n", "csv") == ["1: more than 1,000 columns"]
    keys = json.dumps({"url": "https://a.example/", **{f"k{i}": 1 for i in range(1000)}})
    assert problems(keys.encode(), "jsonl") == ["1: more than 1,000 keys"]


def test_after_a_thousand_problems_the_reader_stops_saying_so() -> None:
    data = b"url\n" + b"not a url\n" * (MAX_PROBLEMS + 500)
    found = problems(data)
    assert len(found) == MAX_PROBLEMS + 1
    assert found[-1] == f"{MAX_PROBLEMS + 2}: more than 1,000 problems: the rest is not checked"


def test_unusable_command_line_options_are_one_problem_on_line_0() -> None:
    base = CaptureOptions(depth=-1)
    assert problems(b"url\nhttps://a.example/\n", base=base) == [
        "0: the command line's options: --depth must be from 0 to 1000, not -1"
    ]


def test_a_row_is_checked_with_the_command_lines_options(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    base = CaptureOptions(cookies=cookies)
    data = b"url,depth\nhttps://a.example/,1\n"
    assert len(rows(data, base=base)) == 1
    cookies.unlink()
    assert problems(data, base=base) == [
        f"0: the command line's options: cookies file not found: {cookies}"
    ]


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_any_bytes_give_rows_or_problems(data: bytes) -> None:
    header = b"url,id,name,dc.title,dc.date,depth,include,bag-info.X\r\n"
    for fmt, manifest in [("csv", data), ("csv", header + data), ("jsonl", data), ("list", data)]:
        for item in read(manifest, fmt):
            assert isinstance(item, Row | ManifestProblem)
            str(item).encode("utf-8")


LINE_CHARS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))
COLUMNS = st.sampled_from(
    ["url", "id", "name", "dc.title", "dc.subject", "dc.date", "depth", "browser", "include",
     "max-size", "bag-info.Project", "scope", "titel", "", "bag-info.Payload-Oxum"]
)  # fmt: skip
CELLS = st.one_of(
    st.text(LINE_CHARS, max_size=30),
    st.sampled_from(["https://a.example/", "2020-01-02", "yes", "3", "2G", "host", "x/y", ".."]),
)


@settings(max_examples=300)
@given(st.lists(COLUMNS, min_size=1, max_size=8), st.lists(st.lists(CELLS, max_size=9), max_size=6))
def test_any_table_gives_rows_or_problems(header: list[str], table: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(table)
    for item in read(out.getvalue().encode()):
        assert isinstance(item, Row | ManifestProblem)
    lines = [json.dumps(dict(zip(header, cells, strict=False))) for cells in table]
    for item in read("\n".join(lines).encode(), "jsonl"):
        assert isinstance(item, Row | ManifestProblem)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**40), 10**40) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(COLUMNS | st.text(max_size=12), JSON_VALUES, max_size=8))
def test_any_json_object_gives_a_row_or_problems(document: dict[str, object]) -> None:
    line = json.dumps(document).encode()
    for item in read(line, "jsonl"):
        assert isinstance(item, Row | ManifestProblem)
        str(item).encode("utf-8")


HOSTS = st.sampled_from(["example.org", "Example.COM", "a.example", "127.0.0.1:8080"])
PATHS = st.lists(st.text("abcXYZ019-_", min_size=1, max_size=6), max_size=3)
VALUES = st.text(LINE_CHARS, min_size=1, max_size=20).filter(lambda text: text.strip())


@settings(max_examples=200)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "url": st.builds(lambda h, p: f"http://{h}/{'/'.join(p)}", HOSTS, PATHS),
                "dc.title": VALUES,
                "dc.subject": st.lists(VALUES, min_size=1, max_size=3),
                "depth": st.integers(0, 1000),
                "browser": st.booleans(),
                "bag-info.Project": VALUES,
            }
        ),
        min_size=1,
        max_size=5,
    )
)
def test_rows_written_as_csv_or_json_lines_are_read_back(table: list[dict[str, object]]) -> None:
    subjects = max(len(entry["dc.subject"]) for entry in table)  # type: ignore[arg-type]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["url", "dc.title", *["dc.subject"] * subjects, "depth", "browser", "bag-info.Project"]
    )
    for entry in table:
        given_subjects = list(entry["dc.subject"])  # type: ignore[call-overload]
        padded = given_subjects + [""] * (subjects - len(given_subjects))
        writer.writerow(
            [entry["url"], entry["dc.title"], *padded, entry["depth"],
             "yes" if entry["browser"] else "no", entry["bag-info.Project"]]
        )  # fmt: skip
    jsonl = "\n".join(json.dumps(entry) for entry in table).encode()
    for found in (rows(out.getvalue().encode()), rows(jsonl, "jsonl")):
        assert len(found) == len(table)
        for row, entry in zip(found, table, strict=True):
            url = parse_seed(str(entry["url"])).url
            assert (row.id, row.url) == (url, url)
            subjects_given = entry["dc.subject"]
            assert isinstance(subjects_given, list)
            assert sorted(row.dc) == sorted(
                [("dc.title", str(entry["dc.title"]).strip())]
                + [("dc.subject", subject.strip()) for subject in subjects_given]
            )
            assert row.bag_info == (("Project", str(entry["bag-info.Project"]).strip()),)
            assert dict(row.options) == {"depth": entry["depth"], "browser": entry["browser"]}


ROWS = 100_000


def _write_big_manifest(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("url,id,name,dc.title,dc.subject,dc.subject,dc.date,bag-info.Project,depth\r\n")
        for i in range(ROWS):
            file.write(
                f"https://host{i % 50}.example/page/{i}?q={i},row-{i},bag-{i},Title {i},"
                f"a,b,2020-01-{i % 28 + 1:02d},P,{i % 3}\r\n"
            )


def test_a_100000_row_manifest_is_read_as_a_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "big.csv"
    _write_big_manifest(manifest)
    started = time.perf_counter()
    with open_manifest(str(manifest)) as stream:
        count = sum(isinstance(item, Row) for item in read_manifest(stream, "csv", BASE))
    seconds = time.perf_counter() - started
    assert count == ROWS
    tracemalloc.start()
    try:
        with open_manifest(str(manifest)) as stream:
            found = read_manifest(stream, "csv", BASE)
            for _ in zip(range(ROWS // 10), found, strict=False):
                pass
            after_a_tenth = tracemalloc.get_traced_memory()[0]
            last = None
            for item in found:
                last = item
            _, peak = tracemalloc.get_traced_memory()
            at_the_end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert isinstance(last, Row) and last.id == f"row-{ROWS - 1}"
    assert peak < 4 * 1024 * 1024
    assert at_the_end < after_a_tenth + 512 * 1024
    with capsys.disabled():
        print(
            f"\n{ROWS:,} CSV rows read and checked in {seconds:.1f} s "
            f"({ROWS / seconds:,.0f} rows/s); peak memory while reading {peak / 1e6:.1f} MB"
        )
    assert seconds < 120
