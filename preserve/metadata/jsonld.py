"""The schema.org node a page's JSON-LD gives for the page itself: its title, authors, dates."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from preserve.fields import read_json

# schema.org types whose headline, author and dates describe the page itself; an Organization's
# or a WebSite's name is not the page's title.
_CREATIVE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "BlogPosting",
        "Blog",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
        "SocialMediaPosting",
        "LiveBlogPosting",
        "OpinionNewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "WebPage",
        "ItemPage",
        "AboutPage",
        "CollectionPage",
        "FAQPage",
        "ProfilePage",
        "QAPage",
        "MedicalWebPage",
        "CreativeWork",
        "Book",
        "Chapter",
        "Dataset",
        "Recipe",
        "Review",
        "VideoObject",
        "AudioObject",
        "PodcastEpisode",
    }
)


class JsonLd:
    """The schema.org node describing the page, from its JSON-LD blocks."""

    def __init__(self, node: dict[str, object] | None, ids: dict[str, dict[str, object]]) -> None:
        self.node = node
        self.ids = ids

    @classmethod
    def from_scripts(cls, scripts: Iterable[str]) -> JsonLd:
        """Return the first creative-work node of the blocks (None if there is none)."""
        nodes: list[dict[str, object]] = []
        for script in scripts:
            try:
                data = read_json(script.encode("utf-8", "surrogatepass"))
            except ValueError:
                # Not JSON, or past the bounds of one (size, depth, digits): no statements.
                continue
            nodes.extend(_nodes(data))
        ids: dict[str, dict[str, object]] = {}
        for node in nodes:
            identifier = node.get("@id")
            if isinstance(identifier, str):
                ids.setdefault(identifier, node)
        main = next((node for node in nodes if _types(node) & _CREATIVE_TYPES), None)
        return cls(main, ids)

    def strings(self, key: str) -> list[str]:
        """Return the text values of `key` on the page's node."""
        value = self.node.get(key) if self.node else None
        return [item for item in _as_list(value) if isinstance(item, str)]

    def names(self, key: str) -> list[str]:
        """Return the names of the people or organisations `key` names (`author`)."""
        out: list[str] = []
        for item in _as_list(self.node.get(key) if self.node else None):
            target = item
            if isinstance(item, dict) and "name" not in item and isinstance(item.get("@id"), str):
                target = self.ids.get(item["@id"], item)
            if isinstance(target, dict):
                out.extend(name for name in _as_list(target.get("name")) if isinstance(name, str))
            elif isinstance(target, str) and not looks_like_url(target):
                out.append(target)
        return out

    def urls(self, key: str) -> list[str]:
        """Return the URLs `key` names, as strings or as objects with `url` or `@id`."""
        out: list[str] = []
        for item in _as_list(self.node.get(key) if self.node else None):
            target = item.get("url") or item.get("@id") if isinstance(item, dict) else item
            if isinstance(target, str):
                out.append(target)
        return out


def _nodes(data: object) -> Iterator[dict[str, object]]:
    """Yield the objects of a JSON-LD document: top level, lists and `@graph` members."""
    pending: deque[object] = deque([data])
    while pending:
        item = pending.popleft()
        if isinstance(item, list):
            pending.extendleft(reversed(item))
        elif isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list):
                pending.extendleft(reversed(graph))


def _types(node: dict[str, object]) -> frozenset[str]:
    return frozenset(
        t.rsplit("/", 1)[-1] for t in _as_list(node.get("@type")) if isinstance(t, str)
    )


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def looks_like_url(text: str) -> bool:
    """Return True for text that is a web address rather than a name (`https://…`, `www.…`)."""
    lowered = text.strip().lower()
    return lowered.startswith(("http://", "https://", "//", "www."))
