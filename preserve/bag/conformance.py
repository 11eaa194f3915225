"""Whether a bag, or the options of a capture about to run, meets a BagIt Profile."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from preserve.bag.profile import Profile, listing, matches, not_allowed
from preserve.bag.reader import MANIFEST_NAME, Problem, printable
from preserve.bag.serialize import MEDIA_TYPES
from preserve.errors import BadInput
from preserve.models import ALLOWED_CHECKSUMS

CAPTURE_PAYLOAD_PATHS = (
    "data/web/example.org/index.html",
    "data/logs/capture-log.jsonl",
    "data/logs/urls.tsv",
    "data/metadata/dc.xml",
)
"""Payload paths of the kinds every capture writes, for checking a profile's payload rules."""

# bag-info labels a capture option sets, to say which option a profile's rule asks for.
_OPTIONS = {
    "source-organization": "--source-organization",
    "contact-name": "--contact-name",
    "contact-email": "--contact-email",
    "contact-phone": "--contact-phone",
    "organization-address": "--organization-address",
}


def _is_standard_tag_file(path: str) -> bool:
    """Return True for the tag files RFC 8493 itself defines, which other rules govern."""
    return path in ("bagit.txt", "bag-info.txt", "fetch.txt") or bool(MANIFEST_NAME.fullmatch(path))


@dataclass(frozen=True, slots=True)
class BagFacts:
    """What a profile is checked against: a bag's declared facts and its files."""

    version: str | None
    bag_info: tuple[tuple[str, str], ...]
    manifest_algorithms: tuple[str, ...]
    tag_manifest_algorithms: tuple[str, ...]
    has_fetch: bool
    tag_files: tuple[str, ...]
    payload_files: tuple[tuple[str, int], ...]
    serialization: str | None


def check_bag(profile: Profile, bag: BagFacts) -> tuple[list[Problem], list[Problem]]:
    """Return (problems, warnings) for `bag` against every rule of `profile`.

    The bag's bag-info must name the profile in BagIt-Profile-Identifier. Labels compare
    case-insensitively. bagit.txt, bag-info.txt, fetch.txt and manifests are governed by
    their own rules, so Tag-Files-Allowed need not list them. The messages do not repeat the
    profile's identifier: the report carries it once.
    """
    problems: list[str] = []
    warnings: list[str] = []
    declared = [v for label, v in bag.bag_info if label.lower() == "bagit-profile-identifier"]
    if not declared:
        problems.append("bag-info.txt has no BagIt-Profile-Identifier naming the profile")
    elif profile.identifier not in declared:
        problems.append(f"bag-info.txt BagIt-Profile-Identifier is not {profile.identifier}")
    problems += _check_tags(profile, bag.bag_info, warnings)
    problems += _check_algorithms(profile, bag.manifest_algorithms, bag.tag_manifest_algorithms)
    if bag.has_fetch and not profile.allow_fetch:
        problems.append("the bag has a fetch.txt, which the profile does not allow")
    if profile.fetch_required and not bag.has_fetch:
        problems.append("the profile requires a fetch.txt; the bag has none")
    accepted = profile.accept_versions
    if bag.version is not None and accepted and bag.version not in accepted:
        only = ", ".join(accepted)
        problems.append(f"BagIt-Version {bag.version} is not accepted (only {only})")
    problems += _check_serialization(profile, bag.serialization)
    problems += _check_files(profile, bag.tag_files, dict(bag.payload_files), "the bag")
    warnings += [f"the profile's {key} is not a 1.4.0 rule; not checked" for key in profile.ignored]
    return (
        [Problem("profile", None, m) for m in problems],
        [Problem("profile", None, m) for m in warnings],
    )


def _check_tags(
    profile: Profile, fields: Sequence[tuple[str, str]], warnings: list[str]
) -> list[str]:
    """Return the bag-info rules broken: required, values, repeatable; warn on recommended."""
    problems: list[str] = []
    values: dict[str, list[str]] = {}
    for label, value in fields:
        values.setdefault(label.lower(), []).append(value)
    for rule in profile.bag_info:
        given = values.get(rule.label.lower(), [])
        if not given:
            if rule.required:
                problems.append(f"bag-info.txt lacks {rule.label}, which the profile requires")
            elif rule.recommended:
                warnings.append(f"bag-info.txt lacks {rule.label}, which the profile recommends")
            continue
        if len(given) > 1 and not rule.repeatable:
            problems.append(f"bag-info.txt repeats {rule.label}, which must appear once")
        if rule.values:
            for value in given:
                if value not in rule.values:
                    allowed = ", ".join(repr(v) for v in rule.values)
                    problems.append(f"bag-info.txt {rule.label} {value!r} is not one of {allowed}")
    return problems


def _check_algorithms(
    profile: Profile, manifests: Sequence[str], tag_manifests: Sequence[str]
) -> list[str]:
    """Return the manifest and tag manifest rules broken."""
    problems: list[str] = []
    for kind, present, required, allowed in (
        ("manifest", manifests, profile.manifests_required, profile.manifests_allowed),
        (
            "tagmanifest",
            tag_manifests,
            profile.tag_manifests_required,
            profile.tag_manifests_allowed,
        ),
    ):
        for algorithm in required:
            if algorithm not in present:
                problems.append(f"the profile requires {kind}-{algorithm}.txt; the bag has none")
        for algorithm in not_allowed(present, allowed):
            problems.append(f"{kind}-{algorithm}.txt is not allowed by the profile")
    return problems


def _check_serialization(profile: Profile, serialization: str | None) -> list[str]:
    """Return the serialisation rules broken by a bag given as `serialization` (None: folder)."""
    if serialization is None:
        if profile.serialization == "required":
            return ["the profile requires a serialised bag (zip, tar…); this one is a folder"]
        return []
    if profile.serialization == "forbidden":
        return [f"the profile forbids serialised bags; this one is a {serialization} file"]
    if profile.accept_serialization and not set(MEDIA_TYPES[serialization]) & set(
        profile.accept_serialization
    ):
        accepted = ", ".join(profile.accept_serialization)
        return [f"a {serialization} file is not an accepted serialisation (only {accepted})"]
    return []


def _check_files(
    profile: Profile, tag_files: Iterable[str], payload: Mapping[str, int], subject: str
) -> list[str]:
    """Return the tag-file, payload-file and Data-Empty rules `subject`'s files break."""
    problems: list[str] = []
    tags = set(tag_files)
    for path in profile.tag_files_required:
        if path not in tags:
            problems.append(f"the profile requires the tag file {path}, which {subject} lacks")
    for path in sorted(tags):
        if not _is_standard_tag_file(path) and not matches(path, profile.tag_files_allowed):
            problems.append(f"tag file {printable(path)} is not allowed by Tag-Files-Allowed")
    for path in profile.payload_files_required:
        present = (
            any(p.startswith(path) for p in payload) if path.endswith("/") else path in payload
        )
        if not present:
            problems.append(f"the profile requires the payload {path}, which {subject} lacks")
    for path in sorted(payload):
        if not matches(path, profile.payload_files_allowed):
            problems.append(
                f"payload file {printable(path)} is not allowed by Payload-Files-Allowed"
            )
    if profile.data_empty and (len(payload) > 1 or any(payload.values())):
        problems.append(f"the profile requires an empty payload (Data-Empty); {subject} has one")
    return problems


def check_capture_options(
    profile: Profile,
    algorithms: Sequence[str],
    bag_info_labels: Iterable[str | tuple[str, str]],
    serialization: str | None,
    *,
    tag_files: Iterable[str] = (),
    payload_files: Iterable[str] = CAPTURE_PAYLOAD_PATHS,
) -> list[str]:
    """Return why a capture with these options would not conform to `profile` (empty: it would).

    `algorithms` are the manifest (and tag manifest) algorithms; `bag_info_labels` every
    bag-info label the capture will write, its own included (a (label, value) pair also has
    its value checked); `serialization` is zip, tar, tar.gz or None. `tag_files` and
    `payload_files` are the paths the capture will write, to check the file rules.
    BagIt-Profile-Identifier is not asked for: the capture adds the profile's identifier.
    """
    messages: list[str] = []
    if profile.accept_versions and "1.0" not in profile.accept_versions:
        accepted = ", ".join(profile.accept_versions)
        messages.append(f"the profile accepts BagIt {accepted} only; preserve writes BagIt 1.0")
    messages += _capture_algorithms(profile, [a.lower() for a in algorithms])
    fields: list[tuple[str, str]] = []
    labels: list[str] = []
    for item in bag_info_labels:
        if isinstance(item, tuple):
            fields.append(item)
            labels.append(item[0])
        else:
            labels.append(item)
    messages += _capture_tags(profile, labels, fields)
    if profile.fetch_required:
        messages.append("the profile requires a fetch.txt, which preserve never writes")
    messages += _capture_serialization(profile, serialization)
    payload = dict.fromkeys(payload_files, 1)
    messages += _check_files(profile, tag_files, payload, "a capture")
    return messages


def require_capture_options(
    profile: Profile,
    algorithms: Sequence[str],
    bag_info_labels: Iterable[str | tuple[str, str]],
    serialization: str | None,
    *,
    tag_files: Iterable[str] = (),
    payload_files: Iterable[str] = CAPTURE_PAYLOAD_PATHS,
) -> None:
    """Raise BadInput listing every reason a capture with these options would not meet `profile`.

    The arguments are those of `check_capture_options`. The message is a first line naming
    the profile, then each reason on its own indented line.
    """
    problems = check_capture_options(
        profile,
        algorithms,
        bag_info_labels,
        serialization,
        tag_files=tag_files,
        payload_files=payload_files,
    )
    if problems:
        raise BadInput(
            listing(f"the options do not meet the profile {profile.identifier}", problems)
        )


def _capture_algorithms(profile: Profile, chosen: Sequence[str]) -> list[str]:
    """Return the manifest rules `--checksum` choices break, one message per algorithm.

    One `--checksum` gives both a manifest and a tag manifest, so a rule broken by both is
    one message naming both files.
    """
    missing: dict[str, list[str]] = {}
    refused: dict[str, list[str]] = {}
    for prefix, required, allowed in (
        ("manifest", profile.manifests_required, profile.manifests_allowed),
        ("tagmanifest", profile.tag_manifests_required, profile.tag_manifests_allowed),
    ):
        for algorithm in required:
            if algorithm not in chosen:
                missing.setdefault(algorithm, []).append(f"{prefix}-{algorithm}.txt")
        for algorithm in not_allowed(chosen, allowed):
            refused.setdefault(algorithm, []).append(f"{prefix}-{algorithm}.txt")
    messages: list[str] = []
    for algorithm, names in missing.items():
        files = " and ".join(names)
        if algorithm in ALLOWED_CHECKSUMS:
            messages.append(f"the profile requires {files}: add --checksum {algorithm}")
        else:
            writable = ", ".join(ALLOWED_CHECKSUMS)
            messages.append(
                f"the profile requires {files}, which preserve cannot write"
                f" (its algorithms: {writable})"
            )
    for algorithm, names in refused.items():
        files = " and ".join(names)
        messages.append(f"the profile does not allow {files}: drop --checksum {algorithm}")
    return messages


def accepted_serializations(profile: Profile) -> list[str]:
    """Return the serialisations preserve writes (zip, tar, tar.gz) that `profile` accepts."""
    if not profile.accept_serialization:
        return list(MEDIA_TYPES)
    accepted = set(profile.accept_serialization)
    return [fmt for fmt, types in MEDIA_TYPES.items() if accepted & set(types)]


def _either(options: Sequence[str]) -> str:
    """Return `options` joined as a person would list alternatives: `a, b or c`."""
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def _capture_serialization(profile: Profile, serialization: str | None) -> list[str]:
    """Return the serialisation rules `--serialize` (None: a folder) breaks, with the fix.

    A suggested `--serialize` is always one the profile accepts.
    """
    usable = accepted_serializations(profile)
    media = ", ".join(profile.accept_serialization)
    if serialization is None:
        if profile.serialization != "required":
            return []
        if not usable:
            return [
                f"the profile requires a serialised bag as {media}, none of which preserve"
                " writes (zip, tar, tar.gz)"
            ]
        return [f"the profile requires a serialised bag: add --serialize {_either(usable)}"]
    if profile.serialization == "forbidden":
        return [f"the profile forbids serialised bags: drop --serialize {serialization}"]
    if serialization in usable:
        return []
    fix = f"use --serialize {_either(usable)}" if usable else "preserve writes none of them"
    return [f"the profile does not accept {serialization} files (only {media}): {fix}"]


def _capture_tags(
    profile: Profile, labels: Sequence[str], fields: Sequence[tuple[str, str]]
) -> list[str]:
    """Return the bag-info rules the capture's labels and values would break."""
    messages: list[str] = []
    counts: dict[str, int] = {}
    for label in labels:
        counts[label.lower()] = counts.get(label.lower(), 0) + 1
    for rule in profile.bag_info:
        key = rule.label.lower()
        if key == "bagit-profile-identifier":
            continue
        if rule.required and not counts.get(key):
            option = _OPTIONS.get(key, f"--info '{rule.label}=VALUE'")
            messages.append(f"the profile requires bag-info {rule.label}: give {option}")
        if counts.get(key, 0) > 1 and not rule.repeatable:
            messages.append(f"the profile allows bag-info {rule.label} once; it is given twice")
        if rule.values:
            for label, value in fields:
                if label.lower() == key and value not in rule.values:
                    allowed = ", ".join(repr(v) for v in rule.values)
                    messages.append(f"bag-info {rule.label} {value!r} is not one of {allowed}")
    return messages
