"""Where a page's rendered derivatives go: named after its payload file, never colliding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preserve.access.rendered import RENDERED_KINDS, rendered_path
from preserve.layout import payload_path

SEGMENT = st.text(alphabet=st.sampled_from("ab~.-_%7EPNGpng/html?=é"), min_size=1, max_size=12)


def test_a_derivative_is_named_after_the_page_payload_file() -> None:
    source = "data/web/example.org/news/index.html"
    assert rendered_path(source, "screenshot") == (
        "data/access/rendered/example.org/news/index.html~.png"
    )
    assert rendered_path(source, "dom").endswith("index.html~.html")
    assert rendered_path(source, "pdf").endswith("index.html~.pdf")
    with pytest.raises(ValueError, match="not a payload file"):
        rendered_path("data/access/index.html", "pdf")


def test_a_long_path_is_shortened_under_its_host() -> None:
    # At most 1,024 bytes under data/ as a payload path; past them with "access/rendered/".
    source = "data/web/example.org/" + "/".join(["a" * 240] * 4) + "/" + "c" * 35 + ".html"
    assert len(source.encode()) - len("data/") <= 1024
    shortened = rendered_path(source, "screenshot")
    assert shortened.startswith("data/access/rendered/example.org/~long/")
    assert shortened.endswith("~.png")
    assert len(shortened.encode()) - len("data/") <= 1024


@given(st.lists(SEGMENT, min_size=1, max_size=4), st.lists(SEGMENT, min_size=1, max_size=4))
def test_two_pages_never_share_a_derivative_nor_a_folder_name(
    left: list[str], right: list[str]
) -> None:
    first = "data/" + payload_path("http://h.example/" + "/".join(left), 0)
    second = "data/" + payload_path("http://h.example/" + "/".join(right), 0)
    made = [rendered_path(p, kind) for p in {first, second} for kind, _s, _m in RENDERED_KINDS]
    assert len(set(made)) == len(made)
    folders = {path.rsplit("/", 1)[0] for path in made}
    for path in made:
        # No derivative takes the name of a folder another derivative lies in.
        assert path not in folders
        assert not any(f.startswith(path + "/") for f in folders)
