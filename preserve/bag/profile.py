"""BagIt Profiles (specification 1.4.0): reading and checking a profile itself.

`preserve.bag.conformance` checks bags and capture options against one. Not the
`bagit-profile` package: it covers specification 1.3 only and exits the process when a
profile URL cannot be fetched. Profiles are read from local files; nothing is fetched.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from preserve.errors import BadInput
from preserve.fields import MAX_JSON_BYTES, JsonProblem, read_json

OWN_PROFILE_IDENTIFIER = (
    "https://github.com/preserve-archive/preserve/blob/main/schemas/bagit-profile.json"
)
"""The identifier of the profile of the bags preserve makes (schemas/bagit-profile.json)."""

# fmt: off
_KNOWN_KEYS = frozenset({
    "BagIt-Profile-Info", "Bag-Info", "Manifests-Required", "Manifests-Allowed",
    "Allow-Fetch.txt", "Fetch.txt-Required", "Data-Empty", "Serialization",
    "Accept-Serialization", "Accept-BagIt-Version", "Tag-Manifests-Required",
    "Tag-Manifests-Allowed", "Tag-Files-Required", "Tag-Files-Allowed",
    "Payload-Files-Required", "Payload-Files-Allowed",
})
# fmt: on
_RULE_KEYS = frozenset({"required", "values", "repeatable", "description", "recommended"})


@dataclass(frozen=True, slots=True)
class TagRule:
    """A profile's rule for one bag-info label."""

    label: str
    required: bool = False
    values: tuple[str, ...] = ()
    repeatable: bool = True
    recommended: bool = False


@dataclass(frozen=True, slots=True)
class Profile:
    """A BagIt Profile as read from its JSON: every rule, with the specification's defaults.

    `*_allowed` is None when the profile leaves that choice open. `ignored` names top-level
    keys the specification does not define, which are reported but not checked.
    """

    identifier: str
    source: str
    bag_info: tuple[TagRule, ...] = ()
    manifests_required: tuple[str, ...] = ()
    manifests_allowed: tuple[str, ...] | None = None
    allow_fetch: bool = True
    fetch_required: bool = False
    data_empty: bool = False
    serialization: Literal["forbidden", "required", "optional"] = "optional"
    accept_serialization: tuple[str, ...] = ()
    accept_versions: tuple[str, ...] = ()
    tag_manifests_required: tuple[str, ...] = ()
    tag_manifests_allowed: tuple[str, ...] | None = None
    tag_files_required: tuple[str, ...] = ()
    tag_files_allowed: tuple[str, ...] = ("*",)
    payload_files_required: tuple[str, ...] = ()
    payload_files_allowed: tuple[str, ...] = ("*",)
    ignored: tuple[str, ...] = ()


def load_profile(path: Path) -> Profile:
    """Return the BagIt Profile in the JSON file `path`; raise BadInput if it cannot be used."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read profile {path}: {exc.strerror or exc}") from exc
    try:
        data = read_json(raw)
    except JsonProblem as exc:
        raise BadInput(f"profile {path} is not JSON preserve can read: {exc}") from exc
    return parse_profile(data, str(path))


def _strings(data: Mapping[str, object], key: str, source: str) -> tuple[str, ...] | None:
    """Return a list-of-strings field as a tuple, None if absent; raise BadInput if malformed."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"profile {source}: {key} must be a list of strings")
    return tuple(str(v) for v in value)


def _flag(data: Mapping[str, object], key: str, default: bool, source: str) -> bool:
    """Return a true/false field, `default` if absent; raise BadInput if it is not a boolean."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise BadInput(f"profile {source}: {key} must be true or false")
    return value


def _tag_rules(data: object, source: str) -> tuple[TagRule, ...]:
    """Return the Bag-Info rules of a profile; raise BadInput if malformed."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise BadInput(f"profile {source}: Bag-Info must be an object")
    rules = []
    for label, rule in data.items():
        if not isinstance(rule, dict) or not set(rule) <= _RULE_KEYS:
            raise BadInput(f"profile {source}: Bag-Info {label} must be an object of rules")
        values = _strings(rule, "values", f"{source} Bag-Info {label}") or ()
        rules.append(
            TagRule(
                label=label,
                required=_flag(rule, "required", False, source),
                values=values,
                repeatable=_flag(rule, "repeatable", True, source),
                recommended=_flag(rule, "recommended", False, source),
            )
        )
    return tuple(rules)


def parse_profile(data: object, source: str) -> Profile:
    """Return the Profile described by parsed JSON `data`; raise BadInput if it is not one.

    Checks what the specification makes consistent: required manifests and tag files must be
    among the allowed ones, Serialization is forbidden, required or optional.
    """
    if not isinstance(data, dict):
        raise BadInput(f"profile {source} is not a JSON object")
    info = data.get("BagIt-Profile-Info")
    identifier = info.get("BagIt-Profile-Identifier") if isinstance(info, dict) else None
    if not isinstance(identifier, str) or not identifier.strip():
        raise BadInput(f"profile {source} has no BagIt-Profile-Info BagIt-Profile-Identifier")
    serialization = data.get("Serialization", "optional")
    if serialization not in ("forbidden", "required", "optional"):
        raise BadInput(f"profile {source}: Serialization must be forbidden, required or optional")
    profile = Profile(
        identifier=identifier.strip(),
        source=source,
        bag_info=_tag_rules(data.get("Bag-Info"), source),
        manifests_required=_lower(_strings(data, "Manifests-Required", source) or ()),
        manifests_allowed=_lower_or_none(_strings(data, "Manifests-Allowed", source)),
        allow_fetch=_flag(data, "Allow-Fetch.txt", True, source),
        fetch_required=_flag(data, "Fetch.txt-Required", False, source),
        data_empty=_flag(data, "Data-Empty", False, source),
        serialization=serialization,
        accept_serialization=_strings(data, "Accept-Serialization", source) or (),
        accept_versions=_strings(data, "Accept-BagIt-Version", source) or (),
        tag_manifests_required=_lower(_strings(data, "Tag-Manifests-Required", source) or ()),
        tag_manifests_allowed=_lower_or_none(_strings(data, "Tag-Manifests-Allowed", source)),
        tag_files_required=_strings(data, "Tag-Files-Required", source) or (),
        tag_files_allowed=_strings(data, "Tag-Files-Allowed", source) or ("*",),
        payload_files_required=_strings(data, "Payload-Files-Required", source) or (),
        payload_files_allowed=_strings(data, "Payload-Files-Allowed", source) or ("*",),
        ignored=tuple(sorted(str(key) for key in data if key not in _KNOWN_KEYS)),
    )
    inconsistent = [
        *(
            f"Manifests-Required {alg} is not in Manifests-Allowed"
            for alg in not_allowed(profile.manifests_required, profile.manifests_allowed)
        ),
        *(
            f"Tag-Manifests-Required {alg} is not in Tag-Manifests-Allowed"
            for alg in not_allowed(profile.tag_manifests_required, profile.tag_manifests_allowed)
        ),
        *(
            f"Tag-Files-Required {path} is not covered by Tag-Files-Allowed"
            for path in profile.tag_files_required
            if not matches(path, profile.tag_files_allowed)
        ),
    ]
    if inconsistent:
        raise BadInput(listing(f"profile {source} contradicts itself", inconsistent))
    return profile


def listing(heading: str, items: Iterable[str]) -> str:
    """Return `heading` and a colon, then each item on its own line, indented by two spaces.

    How a profile's problems are shown: one per line, so a long list stays readable and each
    problem can be found with grep.
    """
    return "\n  ".join([f"{heading}:", *items])


def _lower(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.lower() for v in values)


def _lower_or_none(values: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if values is None else _lower(values)


def not_allowed(algorithms: Iterable[str], allowed: tuple[str, ...] | None) -> list[str]:
    """Return the algorithms a profile's Allowed list (None: anything) does not permit."""
    return [] if allowed is None else [a for a in algorithms if a.lower() not in allowed]


def matches(path: str, patterns: Iterable[str]) -> bool:
    """Return True if `path` matches a profile path pattern (glob(7): *, ?, [...]).

    `*` matches across `/`, as the specification's default `['*']` ("all tag files are
    allowed") requires, so `data/web/*` covers everything under data/web/.
    """
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)
