"""Scope, robots.txt rules and the frontier's decisions: pure, without a network."""

from __future__ import annotations

from pathlib import Path

import pytest

import preserve
from preserve.capture.frontier import Decision, DepthQueue, Frontier
from preserve.capture.seeds import validate_options
from preserve.models import CaptureOptions, Link, Role
from preserve.robots import RobotsRules, robots_url, rules_from_response
from preserve.scope import (
    Scope,
    compile_patterns,
    host_key,
    prefix_of,
    registrable_domain,
)

SEED = "http://news.example.co.uk/2001/10/index.html"


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("news.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("www.bbc.com", "bbc.com"),
        ("a.b.c.example.org", "example.org"),
        ("user.github.io", "user.github.io"),
        ("co.uk", "co.uk"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "[::1]"),
        ("WWW.Example.ORG.", "example.org"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_registrable_domain_uses_the_bundled_suffix_list(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


def test_host_key_folds_default_ports_and_schemes() -> None:
    assert host_key("http://Example.org/") == host_key("https://example.org:443/x")
    assert host_key("http://example.org:8080/") == ("example.org", 8080)
    assert host_key("file:///tmp/x.html") == ("", None)


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("http://h/a/b/page.html", "/a/b/"),
        ("http://h/a/b/", "/a/b/"),
        ("http://h/a", "/"),
        ("http://h/", "/"),
    ],
)
def test_prefix_of(url: str, prefix: str) -> None:
    assert prefix_of(url) == prefix


@pytest.mark.parametrize(
    ("kind", "url", "role", "inside"),
    [
        ("host", "http://news.example.co.uk/other.html", "page", True),
        ("host", "https://news.example.co.uk/secure.html", "page", True),
        ("host", "http://news.example.co.uk:8080/other.html", "page", False),
        ("host", "http://sport.example.co.uk/", "page", False),
        ("host", "http://news.example.co.uk/a.mp3", "media", True),
        ("domain", "http://sport.example.co.uk/", "page", True),
        ("domain", "http://example.co.uk/", "page", True),
        ("domain", "http://other.co.uk/", "page", False),
        ("domain", "http://example.com/", "page", False),
        ("prefix", "http://news.example.co.uk/2001/10/story.html", "page", True),
        ("prefix", "http://news.example.co.uk/2001/10/sub/deeper.html", "page", True),
        ("prefix", "http://news.example.co.uk/2001/11/story.html", "page", False),
        ("prefix", "http://sport.example.co.uk/2001/10/story.html", "page", False),
        ("page", "http://news.example.co.uk/2001/10/story.html", "page", False),
        ("page", "http://news.example.co.uk/media/clip.mpg", "media", True),
        ("page", "http://cdn.example.net/clip.mpg", "media", False),
    ],
)
def test_scope_kinds(kind: str, url: str, role: str, inside: bool) -> None:
    scope = Scope.build(kind, SEED, (), ())  # type: ignore[arg-type]
    refusal = scope.refusal(url, role)  # type: ignore[arg-type]
    assert (refusal is None) is inside
    if not inside:
        assert refusal == f"outside --scope {kind}"


def test_the_seeds_final_url_joins_the_scope() -> None:
    scope = Scope.build("host", "http://example.org/", (), ())
    assert scope.refusal("https://www.example.org/a.html", "page") is not None
    scope = scope.with_origin("https://www.example.org/")
    assert scope.refusal("https://www.example.org/a.html", "page") is None
    assert scope.refusal("http://example.org/b.html", "page") is None
    assert scope.with_origin("https://www.example.org/") is scope


def test_include_and_exclude() -> None:
    scope = Scope.build("domain", SEED, (r"/2001/", r"\.mp3$"), (r"/private/", r"\?print=1"))
    assert scope.refusal("http://news.example.co.uk/2001/a.html", "page") is None
    assert scope.refusal("http://news.example.co.uk/talk.mp3", "media") is None
    assert scope.refusal("http://news.example.co.uk/2002/a.html", "page") == (
        "matches no --include"
    )
    assert scope.refusal("http://news.example.co.uk/2001/private/a.html", "page") == (
        "matches --exclude /private/"
    )
    # --exclude wins over --include, and both apply before the scope's kind.
    assert scope.refusal("http://elsewhere.test/2001/x?print=1", "page") == (
        r"matches --exclude \?print=1"
    )
    assert scope.refusal("http://elsewhere.test/2001/x", "page") == "outside --scope domain"


def test_bad_patterns_are_refused() -> None:
    with pytest.raises(ValueError, match="--exclude"):
        compile_patterns(("(unclosed",), "--exclude")
    with pytest.raises(preserve.BadInput, match="--include"):
        validate_options(CaptureOptions(include=("[a-",)))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (CaptureOptions(depth=-1), "--depth"),
        (CaptureOptions(scope="everything"), "--scope"),  # type: ignore[arg-type]
        (CaptureOptions(exclude=("*x",)), "--exclude"),
    ],
)
def test_validate_options_refuses_bad_crawl_options(options: CaptureOptions, message: str) -> None:
    with pytest.raises(preserve.BadInput, match=message):
        validate_options(options)


def test_capture_refuses_bad_crawl_options_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(preserve.BadInput):
        preserve.capture("http://127.0.0.1:9/", tmp_path / "out", CaptureOptions(depth=-2))
    assert not (tmp_path / "out").exists()


def test_robots_url() -> None:
    assert robots_url("https://h.test:8443/a/b?c#d") == "https://h.test:8443/robots.txt"


ROBOTS = b"""User-agent: *
Disallow: /private/
Allow: /private/open.html

User-agent: preserve
Disallow: /no-preserve/
"""


def test_robots_rules_from_a_file() -> None:
    rules = rules_from_response("http://h/robots.txt", 200, ROBOTS)
    assert rules.allows("http://h/public.html", "other-bot/1.0")
    assert not rules.allows("http://h/private/x.html", "other-bot/1.0")
    assert rules.allows("http://h/private/open.html", "other-bot/1.0")
    ua = "preserve/0.1.0 (+https://github.com/preserve-archive/preserve)"
    # The most specific group is ours: it does not forbid /private/.
    assert rules.allows("http://h/private/x.html", ua)
    assert rules.refusal("http://h/no-preserve/x.html", ua) == ("disallowed by http://h/robots.txt")


@pytest.mark.parametrize(
    ("status", "error", "allowed", "note"),
    [
        (404, None, True, "HTTP 404: all allowed"),
        (403, None, True, "HTTP 403: all allowed"),
        (302, "redirect loop", True, "redirect loop: all allowed"),
        (500, None, False, "unreachable (HTTP 500): all disallowed"),
        (503, None, False, "unreachable (HTTP 503): all disallowed"),
        (429, None, False, "unreachable (HTTP 429): all disallowed"),
        (None, "connection refused", False, "unreachable (connection refused): all disallowed"),
    ],
)
def test_robots_rules_without_a_file_follow_rfc_9309(
    status: int | None, error: str | None, allowed: bool, note: str
) -> None:
    rules = rules_from_response("http://h/robots.txt", status, None, error)
    assert rules.allows("http://h/any.html", "preserve") is allowed
    assert rules.note == note
    if not allowed:
        assert rules.refusal("http://h/any.html", "preserve") == f"http://h/robots.txt: {note}"


def test_robots_reads_only_the_first_500_kib() -> None:
    body = b"User-agent: *\nDisallow: /a/\n" + b"#" * (600 * 1024) + b"\nDisallow: /b/\n"
    rules = rules_from_response("http://h/robots.txt", 200, body)
    assert not rules.allows("http://h/a/x", "preserve")
    assert rules.allows("http://h/b/x", "preserve")


class _Robots:
    """Answers a frontier's requests for robots.txt from fixed files, counting them."""

    def __init__(self, rules: dict[str, bytes]) -> None:
        self.asked: list[str] = []
        self._fixed = rules

    def rules(self, source: str) -> RobotsRules:
        self.asked.append(source)
        body = self._fixed.get(source)
        if body is None:
            return rules_from_response(source, 404, None)
        return rules_from_response(source, 200, body)


class _Frontier:
    """A Frontier whose robots.txt requests are answered at once, as the run loop answers them."""

    def __init__(self, front: Frontier, robots: _Robots) -> None:
        self.front = front
        self.robots = robots

    def decide(self, link: Link, depth: int, page: str) -> Decision | None:
        decision = self.front.decide(link, depth, page)
        if decision is not None and decision.robots is not None:
            assert decision.robots == robots_url(link.url)
            self.front.learn_robots(self.robots.rules(decision.robots))
            decision = self.front.decide(link, depth, page)
            assert decision is None or decision.robots is None
        return decision

    def admit(self, role: Role, page: str) -> None:
        self.front.admit(role, page)

    def limit(self, role: Role, page: str, stored: int) -> tuple[str, str] | None:
        return self.front.limit(role, page, stored)


def frontier(**options: object) -> tuple[_Frontier, _Robots]:
    robots = _Robots({"http://h.test/robots.txt": b"User-agent: *\nDisallow: /no/\n"})
    front = Frontier("http://h.test/", CaptureOptions(**options), "preserve/test")  # type: ignore[arg-type]
    return _Frontier(front, robots), robots


def test_a_host_s_robots_txt_is_asked_for_once_then_known() -> None:
    front = Frontier("http://h.test/", CaptureOptions(depth=1), "preserve/test")
    link = Link("http://h.test/no/a.html", "page", "a@href")
    waiting = front.decide(link, 0, "S")
    assert waiting == Decision(
        "page", 1, "http://h.test/no/a.html", robots="http://h.test/robots.txt"
    )
    assert front.decide(link, 0, "S") == waiting
    front.learn_robots(
        rules_from_response("http://h.test/robots.txt", 200, b"User-agent: *\nDisallow: /no/\n")
    )
    assert front.decide(link, 0, "S") == Decision(
        "page", 1, "http://h.test/no/a.html", "robots", "disallowed by http://h.test/robots.txt"
    )
    other = Link("http://h.test/yes.html", "page", "a@href")
    assert front.decide(other, 0, "S") == Decision("page", 1, "http://h.test/yes.html")


def test_requisites_and_frames_are_always_followed() -> None:
    front, robots = frontier()
    assert front.decide(Link("http://cdn.test/no/a.png", "requisite", "img@src"), 2, "P") == (
        Decision("requisite", 2, "P")
    )
    assert front.decide(Link("http://ads.test/no/f.html", "frame", "iframe@src"), 1, "P") == (
        Decision("frame", 1, "http://ads.test/no/f.html")
    )
    assert robots.asked == []


def test_links_beyond_depth_are_passed_by_silently() -> None:
    front, robots = frontier(depth=0)
    assert front.decide(Link("http://h.test/a.html", "page", "a@href"), 0, "S") is None
    assert front.decide(Link("http://h.test/a.mp3", "media", "a@href"), 0, "S") is None
    front, robots = frontier(depth=2)
    assert front.decide(Link("http://h.test/a.html", "page", "a@href"), 1, "P") == (
        Decision("page", 2, "http://h.test/a.html")
    )
    assert front.decide(Link("http://h.test/b.html", "page", "a@href"), 2, "P") is None
    # Media are leaves: a page at the last level still brings its linked media.
    assert front.decide(Link("http://h.test/b.mp3", "media", "a@href"), 2, "P") == (
        Decision("media", 3, "http://h.test/b.mp3")
    )
    assert robots.asked == ["http://h.test/robots.txt"]


def test_no_linked_media() -> None:
    front, _ = frontier(depth=1, linked_media=False)
    assert front.decide(Link("http://h.test/a.mp3", "media", "a@href"), 0, "S") is None
    assert front.decide(Link("http://h.test/a.html", "page", "a@href"), 0, "S") is not None


def test_scope_then_robots() -> None:
    front, robots = frontier(depth=1)
    off = front.decide(Link("http://other.test/no/a.html", "page", "a@href"), 0, "S")
    assert off == Decision(
        "page", 1, "http://other.test/no/a.html", "scope", "outside --scope host"
    )
    assert robots.asked == []
    no = front.decide(Link("http://h.test/no/a.html", "page", "a@href"), 0, "S")
    assert no == Decision(
        "page", 1, "http://h.test/no/a.html", "robots", "disallowed by http://h.test/robots.txt"
    )
    front, robots = frontier(depth=1, ignore_robots=True)
    assert front.decide(Link("http://h.test/no/a.html", "page", "a@href"), 0, "S") == (
        Decision("page", 1, "http://h.test/no/a.html")
    )
    assert robots.asked == []


def test_limits() -> None:
    front, _ = frontier(max_pages=2, max_requisites=1, max_bytes=100)
    front.admit("seed", "S")
    assert front.limit("page", "P", 0) is None
    front.admit("page", "P")
    assert front.limit("page", "Q", 0) == ("limit", "--max-pages 2 reached")
    assert front.limit("frame", "F", 0) == ("limit", "--max-pages 2 reached")
    assert front.limit("media", "P", 0) is None
    front.admit("requisite", "P")
    assert front.limit("requisite", "P", 0) == (
        "limit",
        "--max-requisites 1 reached for its page",
    )
    assert front.limit("requisite", "S", 0) is None
    assert front.limit("requisite", "S", 100) == ("limit", "--max-bytes 100 reached")


class _Item:
    def __init__(self, depth: int, seq: int) -> None:
        self.depth = depth
        self.seq = seq


def test_depth_queue_hands_out_the_shallowest_then_the_earliest() -> None:
    tasks: DepthQueue[_Item] = DepthQueue()
    for depth, seq in [(2, 1), (0, 5), (1, 2), (0, 3), (1, 4)]:
        tasks.put(_Item(depth, seq))
    tasks.put(None)
    assert tasks.get() is None
    order = []
    while not tasks.empty():
        item = tasks.get()
        assert item is not None
        order.append((item.depth, item.seq))
    assert order == [(0, 3), (0, 5), (1, 2), (1, 4), (2, 1)]


@pytest.mark.parametrize(
    ("pattern", "said"),
    [("(" * 5000 + "a" + ")" * 5000, "nested too deeply"), ("(", "unterminated subpattern")],
)
def test_a_pattern_too_deep_or_broken_is_refused_in_one_line(pattern: str, said: str) -> None:
    options = CaptureOptions(include=(pattern,))
    with pytest.raises(preserve.BadInput, match=said) as caught:
        validate_options(options)
    assert len(str(caught.value)) < 400


def test_a_pattern_a_later_python_reads_otherwise_is_taken_without_a_warning(
    recwarn: pytest.WarningsRecorder,
) -> None:
    validate_options(CaptureOptions(include=("[[a]",)))
    assert not [w for w in recwarn if issubclass(w.category, FutureWarning)]
