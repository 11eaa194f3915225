"""BagIt Profiles 1.4.0: our own profile, real published ones, and each rule."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from preserve.bag.conformance import (
    CAPTURE_PAYLOAD_PATHS,
    accepted_serializations,
    check_capture_options,
    require_capture_options,
)
from preserve.bag.inspect import inspect_bag
from preserve.bag.profile import OWN_PROFILE_IDENTIFIER, Profile, load_profile, parse_profile
from preserve.bag.serialize import serialize_bag
from preserve.bag.validate import validate
from preserve.capture import capture
from preserve.errors import BadInput
from preserve.models import BagInfo, CaptureOptions
from tests.conftest import Server
from tests.test_validate import bagit_valid, build_bag, default_fields, found, retag

ROOT = Path(__file__).resolve().parents[1]
OWN = ROOT / "schemas" / "bagit-profile.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "profiles"
BTR = FIXTURES / "btr-bagit-profile.json"
BDBAG = FIXTURES / "bdbag-profile.json"
BTR_ID = "https://github.com/dpscollaborative/btr_bagit_profile/releases/download/1.0/btr-bagit-profile.json"
BDBAG_ID = "http://raw.githubusercontent.com/fair-research/bdbag/master/profiles/bdbag-profile.json"
# What a capture writes itself, before any --info or contact option.
CAPTURE_LABELS = [label for label, _ in default_fields()]


def messages(report: Any) -> list[str]:
    return [p.message for p in report.problems if p.kind == "profile"]


def with_fields(*drop: str, **extra: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in default_fields(**extra) if k not in drop]


def swap_identifier(fields: list[tuple[str, str]], identifier: str) -> list[tuple[str, str]]:
    return [(k, identifier if k == "BagIt-Profile-Identifier" else v) for k, v in fields]


def profile_data(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# --- our own profile ---------------------------------------------------------------------------


def test_own_profile_is_a_valid_profile_with_our_identifier() -> None:
    profile = load_profile(OWN)
    assert profile.identifier == OWN_PROFILE_IDENTIFIER
    assert profile.ignored == ()
    assert profile.accept_versions == ("1.0",)
    assert profile.manifests_required == ("sha512", "sha256")
    assert not profile.allow_fetch
    info = profile_data(OWN)["BagIt-Profile-Info"]
    assert info["BagIt-Profile-Version"] == "1.4.0"
    assert {"Source-Organization", "External-Description", "Version"} <= set(info)


@pytest.mark.parametrize(
    "algorithms",
    [("sha512", "sha256"), ("sha256", "sha512", "md5"), ("sha512", "sha384", "sha256", "sha1")],
)
def test_every_bag_we_make_conforms_to_our_profile(
    tmp_path: Path, algorithms: tuple[str, ...]
) -> None:
    files = {
        "data/web/example.org/index.html": b"<html></html>",
        "data/web/example.org+https/img/a.png": b"png",
        "data/warc/bag.warc.gz": b"warc",
        "data/access/index.html": b"access",
        "data/metadata/dc.xml": b"<dc/>",
        "data/logs/capture-log.jsonl": b"{}\n",
        "data/logs/urls.tsv": b"url\tpath\n",
    }
    bag = build_bag(
        tmp_path / "bag",
        files,
        algorithms=algorithms,
        fields=default_fields(Source_Organization="City Archive", Contact_Email="a@example.org"),
        tag_files={"metadata/premis.xml": b"<premis/>"},
    )
    report = validate(bag, profile=OWN)
    assert (report.problems, report.warnings) == ((), ())
    assert report.profile == OWN_PROFILE_IDENTIFIER
    assert bagit_valid(bag)
    for fmt in ("zip", "tar", "tar.gz"):
        assert validate(serialize_bag(bag, fmt).path, profile=OWN).valid


@pytest.mark.parametrize("checksums", [("sha512", "sha256"), ("sha512", "sha256", "md5")])
def test_a_real_capture_conforms_to_our_profile(
    site: Server, tmp_path: Path, checksums: tuple[str, ...]
) -> None:
    options = CaptureOptions(checksums=checksums, bag_info=BagInfo(source_organization="Archive"))
    result = capture(site.url("/index.html"), tmp_path / "bags", options)
    report = validate(result.bag_path, profile=OWN, processes=1)
    assert (report.problems, report.warnings) == ((), ())
    assert bagit_valid(result.bag_path)
    assert inspect_bag(result.bag_path).profile_identifiers == [OWN_PROFILE_IDENTIFIER]
    zipped = serialize_bag(result.bag_path, "zip")
    assert validate(zipped.path, profile=OWN).valid


def test_a_bag_lacking_a_required_tag_fails_naming_it(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", fields=with_fields("External-Identifier"))
    report = validate(bag, profile=OWN)
    assert found(report) == [("profile", None)]
    assert report.profile == OWN_PROFILE_IDENTIFIER
    assert messages(report) == [
        "bag-info.txt lacks External-Identifier, which the profile requires"
    ]
    assert validate(bag).valid


def test_our_profile_refuses_what_we_do_not_write(tmp_path: Path) -> None:
    bag = build_bag(
        tmp_path / "bag",
        {"data/elsewhere/x.txt": b"x"},
        algorithms=("md5",),
        fields=default_fields(Bagging_Date="again"),
        tag_files={"notes/readme.txt": b"hello"},
    )
    (bag / "fetch.txt").write_text("https://example.org/x - data/elsewhere/x.txt\n")
    assert sorted(messages(validate(bag, profile=OWN))) == [
        "bag-info.txt repeats Bagging-Date, which must appear once",
        "payload file data/elsewhere/x.txt is not allowed by Payload-Files-Allowed",
        "tag file notes/readme.txt is not allowed by Tag-Files-Allowed",
        "the bag has a fetch.txt, which the profile does not allow",
        "the profile requires manifest-sha256.txt; the bag has none",
        "the profile requires manifest-sha512.txt; the bag has none",
        "the profile requires tagmanifest-sha256.txt; the bag has none",
        "the profile requires tagmanifest-sha512.txt; the bag has none",
    ]


def test_capture_options_against_our_profile() -> None:
    profile = load_profile(OWN)
    assert check_capture_options(profile, ("sha512", "sha256"), CAPTURE_LABELS, None) == []
    assert check_capture_options(profile, ("sha512", "sha256", "md5"), CAPTURE_LABELS, "zip") == []
    assert check_capture_options(profile, ("md5",), CAPTURE_LABELS, None) == [
        "the profile requires manifest-sha512.txt and tagmanifest-sha512.txt:"
        " add --checksum sha512",
        "the profile requires manifest-sha256.txt and tagmanifest-sha256.txt:"
        " add --checksum sha256",
    ]


# --- Beyond the Repository ----------------------------------------------------------------------


def btr_fields(*drop: str) -> list[tuple[str, str]]:
    fields = swap_identifier(default_fields(Source_Organization="City Archive"), BTR_ID)
    return [(k, v) for k, v in fields if k not in drop]


def test_btr_bag_conforms_with_recommendations_as_warnings(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", fields=btr_fields(), tag_files={"metadata/dc.xml": b"<x/>"})
    report = validate(bag, profile=BTR)
    assert report.valid, messages(report)
    assert sorted(w.message for w in report.warnings) == [
        "bag-info.txt lacks Bag-Count, which the profile recommends",
        "bag-info.txt lacks Bag-Group-Identifier, which the profile recommends",
        "bag-info.txt lacks Bag-Producing-Organization, which the profile recommends",
        "bag-info.txt lacks Contact-Email, which the profile recommends",
        "bag-info.txt lacks Organization-Address, which the profile recommends",
    ]


@pytest.mark.parametrize("label", ["Source-Organization", "Bagging-Date", "Payload-Oxum"])
def test_btr_required_tags(tmp_path: Path, label: str) -> None:
    bag = build_bag(tmp_path / "bag", fields=btr_fields(label))
    if label == "Payload-Oxum":
        info = (bag / "bag-info.txt").read_text().splitlines(keepends=True)
        (bag / "bag-info.txt").write_text("".join(i for i in info if not i.startswith(label)))
        retag(bag)
    assert messages(validate(bag, profile=BTR)) == [
        f"bag-info.txt lacks {label}, which the profile requires"
    ]


def test_btr_manifests_allowed_and_no_fetch(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", algorithms=("sha384", "sha256"), fields=btr_fields())
    (bag / "fetch.txt").write_text("")
    assert messages(validate(bag, profile=BTR)) == [
        "manifest-sha384.txt is not allowed by the profile",
        "tagmanifest-sha384.txt is not allowed by the profile",
        "the bag has a fetch.txt, which the profile does not allow",
    ]


def test_a_bag_declaring_another_profile(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", fields=default_fields(Source_Organization="City Archive"))
    assert messages(validate(bag, profile=BTR)) == [
        f"bag-info.txt BagIt-Profile-Identifier is not {BTR_ID}"
    ]
    bag2 = build_bag(tmp_path / "bag2", fields=with_fields("BagIt-Profile-Identifier"))
    assert messages(validate(bag2, profile=OWN)) == [
        "bag-info.txt has no BagIt-Profile-Identifier naming the profile"
    ]


def test_a_bag_may_declare_several_profiles(tmp_path: Path) -> None:
    declared = ("BagIt-Profile-Identifier", BTR_ID)
    fields = [*default_fields(Source_Organization="City Archive"), declared]
    bag = build_bag(tmp_path / "bag", fields=fields)
    assert validate(bag, profile=BTR).valid
    assert validate(bag, profile=OWN).valid


# --- bdbag --------------------------------------------------------------------------------------


def bdbag_for_1_0(tmp_path: Path) -> Path:
    """Return the published bdbag profile changed only to accept BagIt 1.0, as a file."""
    data = profile_data(BDBAG)
    data["Accept-BagIt-Version"] = ["0.97", "1.0"]
    path = tmp_path / "bdbag-1.0.json"
    path.write_text(json.dumps(data))
    return path


def test_published_bdbag_cannot_be_met_by_a_1_0_bag() -> None:
    profile = load_profile(BDBAG)
    assert check_capture_options(profile, ("md5",), CAPTURE_LABELS, None) == [
        "the profile accepts BagIt 0.97 only; preserve writes BagIt 1.0",
        "the profile requires manifest-sha256.txt and tagmanifest-sha256.txt:"
        " add --checksum sha256",
        "the profile requires a serialised bag: add --serialize zip, tar or tar.gz",
    ]


def test_bdbag_style_capture_options(tmp_path: Path) -> None:
    profile = load_profile(bdbag_for_1_0(tmp_path))
    assert check_capture_options(profile, ("md5", "sha256"), CAPTURE_LABELS, "zip") == []
    assert check_capture_options(profile, ("md5", "sha256"), CAPTURE_LABELS, "tar.gz") == []
    assert check_capture_options(profile, ("sha512",), CAPTURE_LABELS, None) == [
        "the profile requires manifest-md5.txt and tagmanifest-md5.txt: add --checksum md5",
        "the profile requires manifest-sha256.txt and tagmanifest-sha256.txt:"
        " add --checksum sha256",
        "the profile requires a serialised bag: add --serialize zip, tar or tar.gz",
    ]


@pytest.mark.parametrize("fmt", ["zip", "tar", "tar.gz"])
def test_a_bdbag_style_bag_conforms_once_serialised(tmp_path: Path, fmt: str) -> None:
    profile_path = bdbag_for_1_0(tmp_path)
    # As `capture --profile` writes it: md5 and sha256, the profile's identifier declared too.
    fields = [*default_fields(), ("BagIt-Profile-Identifier", BDBAG_ID)]
    bag = build_bag(tmp_path / "bag", algorithms=("md5", "sha256"), fields=fields)
    assert messages(validate(bag, profile=profile_path)) == [
        "the profile requires a serialised bag (zip, tar…); this one is a folder"
    ]
    assert validate(serialize_bag(bag, fmt).path, profile=profile_path).valid
    assert bagit_valid(bag)


def test_published_bdbag_rejects_a_1_0_bag(tmp_path: Path) -> None:
    fields = [*default_fields(), ("BagIt-Profile-Identifier", BDBAG_ID)]
    bag = build_bag(tmp_path / "bag", algorithms=("md5", "sha256"), fields=fields)
    report = validate(serialize_bag(bag, "zip").path, profile=BDBAG)
    assert report.profile == BDBAG_ID
    assert messages(report) == ["BagIt-Version 1.0 is not accepted (only 0.97)"]


# --- each rule ----------------------------------------------------------------------------------


def custom(tmp_path: Path, **rules: Any) -> Path:
    data: dict[str, Any] = {
        "BagIt-Profile-Info": {"BagIt-Profile-Identifier": OWN_PROFILE_IDENTIFIER},
        **{key.replace("_", "-"): value for key, value in rules.items()},
    }
    path = tmp_path / "profile.json"
    path.write_text(
        json.dumps(data)
        .replace("Allow-Fetch-txt", "Allow-Fetch.txt")
        .replace("Fetch-txt-Required", "Fetch.txt-Required")
    )
    return path


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            {"Bag_Info": {"Contact-Name": {"values": ["A", "B"]}}},
            "bag-info.txt Contact-Name 'C' is not one of 'A', 'B'",
        ),
        (
            {"Bag_Info": {"contact-name": {"repeatable": False}}},
            "bag-info.txt repeats contact-name, which must appear once",
        ),
        (
            {"Tag_Files_Required": ["metadata/required.xml"]},
            "the profile requires the tag file metadata/required.xml, which the bag lacks",
        ),
        (
            {"Tag_Files_Allowed": ["other/*"]},
            "tag file metadata/dc.xml is not allowed by Tag-Files-Allowed",
        ),
        (
            {"Payload_Files_Required": ["data/LICENSE.txt"]},
            "the profile requires the payload data/LICENSE.txt, which the bag lacks",
        ),
        (
            {"Payload_Files_Required": ["data/src/"]},
            "the profile requires the payload data/src/, which the bag lacks",
        ),
        (
            {"Payload_Files_Allowed": ["data/logs/*"]},
            "payload file data/web/example.org/img/a.png is not allowed by Payload-Files-Allowed",
        ),
        (
            {"Data_Empty": True},
            "the profile requires an empty payload (Data-Empty); the bag has one",
        ),
        ({"Fetch_txt_Required": True}, "the profile requires a fetch.txt; the bag has none"),
        ({"Accept_BagIt_Version": ["0.97"]}, "BagIt-Version 1.0 is not accepted (only 0.97)"),
    ],
)
def test_each_rule(tmp_path: Path, rules: dict[str, Any], expected: str) -> None:
    fields = [*default_fields(Contact_Name="C"), ("Contact-Name", "A")]
    bag = build_bag(tmp_path / "bag", fields=fields, tag_files={"metadata/dc.xml": b"<x/>"})
    found_messages = messages(validate(bag, profile=custom(tmp_path, **rules)))
    assert expected in found_messages
    assert len(found_messages) == 1 or "Payload-Files-Allowed" in expected


def test_data_empty_and_serialisation_forbidden(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {})
    assert validate(bag, profile=custom(tmp_path, Data_Empty=True)).valid
    profile = custom(tmp_path, Serialization="forbidden")
    assert validate(bag, profile=profile).valid
    assert messages(validate(serialize_bag(bag, "tar").path, profile=profile)) == [
        "the profile forbids serialised bags; this one is a tar file"
    ]


def test_accept_serialization_by_media_type(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    profile = custom(tmp_path, Accept_Serialization=["application/zip"])
    assert validate(serialize_bag(bag, "zip").path, profile=profile).valid
    assert messages(validate(serialize_bag(bag, "tar").path, profile=profile)) == [
        "a tar file is not an accepted serialisation (only application/zip)"
    ]


def test_unknown_keys_are_reported_not_checked(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    report = validate(bag, profile=custom(tmp_path, Other_Info=[{"APTrust-Info": {}}]))
    assert report.valid
    assert [w.message for w in report.warnings] == [
        "the profile's Other-Info is not a 1.4.0 rule; not checked"
    ]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ("{}", "no BagIt-Profile-Info BagIt-Profile-Identifier"),
        ('{"BagIt-Profile-Info": {"BagIt-Profile-Identifier": ""}}', "no BagIt-Profile-Info"),
    ],
)
def test_unusable_profile_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "profile.json"
    path.write_text(text)
    with pytest.raises(BadInput, match=match):
        load_profile(path)
    with pytest.raises(BadInput, match="cannot read profile"):
        load_profile(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("rules", "match"),
    [
        ({"Manifests-Required": "md5"}, "Manifests-Required must be a list of strings"),
        ({"Allow-Fetch.txt": "no"}, "Allow-Fetch.txt must be true or false"),
        ({"Serialization": "sometimes"}, "Serialization must be"),
        ({"Bag-Info": []}, "Bag-Info must be an object"),
        ({"Bag-Info": {"X": {"mandatory": True}}}, "Bag-Info X must be an object of rules"),
        ({"Manifests-Required": ["md5"], "Manifests-Allowed": ["sha256"]}, "contradicts itself"),
        ({"Tag-Files-Required": ["a.txt"], "Tag-Files-Allowed": ["b/*"]}, "contradicts itself"),
    ],
)
def test_inconsistent_or_malformed_profiles(rules: dict[str, Any], match: str) -> None:
    data = {"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "urn:x"}, **rules}
    with pytest.raises(BadInput, match=match):
        parse_profile(data, "test")


def test_a_profile_object_or_path_is_accepted(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    profile = load_profile(OWN)
    assert isinstance(profile, Profile)
    assert validate(bag, profile=profile) == validate(bag, profile=str(OWN))


def test_capture_bag_info_rules(tmp_path: Path) -> None:
    profile = load_profile(
        custom(
            tmp_path,
            Bag_Info={
                "Source-Organization": {"required": True, "values": ["City Archive"]},
                "Project": {"required": True},
                "Bagging-Date": {"repeatable": False},
            },
        )
    )
    labels = [*CAPTURE_LABELS, "Bagging-Date", ("Source-Organization", "Elsewhere")]
    assert check_capture_options(profile, ("sha512",), labels, None) == [
        "bag-info Source-Organization 'Elsewhere' is not one of 'City Archive'",
        "the profile requires bag-info Project: give --info 'Project=VALUE'",
        "the profile allows bag-info Bagging-Date once; it is given twice",
    ]
    assert check_capture_options(profile, ("sha512",), CAPTURE_LABELS, None)[0] == (
        "the profile requires bag-info Source-Organization: give --source-organization"
    )


def test_capture_file_rules(tmp_path: Path) -> None:
    profile = load_profile(
        custom(
            tmp_path,
            Tag_Files_Required=["metadata/dc.xml"],
            Payload_Files_Allowed=["data/web/*"],
            Data_Empty=True,
            Fetch_txt_Required=True,
            Manifests_Required=["blake3"],
        )
    )
    assert check_capture_options(profile, ("sha512",), CAPTURE_LABELS, None) == [
        "the profile requires manifest-blake3.txt, which preserve cannot write"
        " (its algorithms: sha512, sha256, sha384, sha224, sha1, md5)",
        "the profile requires a fetch.txt, which preserve never writes",
        "the profile requires the tag file metadata/dc.xml, which a capture lacks",
        "payload file data/logs/capture-log.jsonl is not allowed by Payload-Files-Allowed",
        "payload file data/logs/urls.tsv is not allowed by Payload-Files-Allowed",
        "payload file data/metadata/dc.xml is not allowed by Payload-Files-Allowed",
        "the profile requires an empty payload (Data-Empty); a capture has one",
    ]
    assert (
        check_capture_options(
            profile,
            ("sha512",),
            CAPTURE_LABELS,
            None,
            tag_files=["metadata/dc.xml"],
            payload_files=[],
        )[2:]
        == []
    )
    assert "data/web/example.org/index.html" in CAPTURE_PAYLOAD_PATHS


# --- how a refusal reads -----------------------------------------------------------------------


def test_a_capture_refusal_names_the_profile_then_one_reason_per_line(tmp_path: Path) -> None:
    profile = load_profile(custom(tmp_path, Manifests_Required=["md5"], Serialization="required"))
    with pytest.raises(BadInput) as refused:
        require_capture_options(profile, ("sha512",), CAPTURE_LABELS, None)
    assert str(refused.value).splitlines() == [
        f"the options do not meet the profile {OWN_PROFILE_IDENTIFIER}:",
        "  the profile requires manifest-md5.txt: add --checksum md5",
        "  the profile requires a serialised bag: add --serialize zip, tar or tar.gz",
    ]
    assert refused.value.exit_code == 2
    require_capture_options(profile, ("sha512", "md5"), CAPTURE_LABELS, "zip")


def test_capture_messages_name_manifests_without_a_wrong_article(tmp_path: Path) -> None:
    profile = load_profile(
        custom(
            tmp_path,
            Manifests_Required=["md5", "sha1", "sha512", "blake2b"],
            Manifests_Allowed=["md5", "sha1", "sha512", "blake2b"],
            Tag_Manifests_Allowed=["md5", "sha1", "sha512", "blake2b", "sha224"],
        )
    )
    said = check_capture_options(profile, ("sha256", "sha224"), CAPTURE_LABELS, None)
    assert said == [
        "the profile requires manifest-md5.txt: add --checksum md5",
        "the profile requires manifest-sha1.txt: add --checksum sha1",
        "the profile requires manifest-sha512.txt: add --checksum sha512",
        "the profile requires manifest-blake2b.txt, which preserve cannot write"
        " (its algorithms: sha512, sha256, sha384, sha224, sha1, md5)",
        "the profile does not allow manifest-sha256.txt and tagmanifest-sha256.txt:"
        " drop --checksum sha256",
        "the profile does not allow manifest-sha224.txt: drop --checksum sha224",
    ]
    assert not any(re.search(r"\ba (md5|sha)", message) for message in said)


@pytest.mark.parametrize(
    ("accepted", "serialization", "expected"),
    [
        (["application/zip"], None, "the profile requires a serialised bag: add --serialize zip"),
        (
            ["application/zip"],
            "tar",
            "the profile does not accept tar files (only application/zip): use --serialize zip",
        ),
        (
            ["application/x-tar", "application/gzip"],
            "zip",
            "the profile does not accept zip files (only application/x-tar, application/gzip):"
            " use --serialize tar or tar.gz",
        ),
        (
            ["application/x-7z-compressed"],
            None,
            "the profile requires a serialised bag as application/x-7z-compressed, none of which"
            " preserve writes (zip, tar, tar.gz)",
        ),
        (
            ["application/x-7z-compressed"],
            "zip",
            "the profile does not accept zip files (only application/x-7z-compressed):"
            " preserve writes none of them",
        ),
    ],
)
def test_a_serialisation_suggested_is_one_the_profile_accepts(
    tmp_path: Path, accepted: list[str], serialization: str | None, expected: str
) -> None:
    profile = load_profile(
        custom(tmp_path, Serialization="required", Accept_Serialization=accepted)
    )
    assert check_capture_options(profile, ("sha512",), CAPTURE_LABELS, serialization) == [expected]
    usable = accepted_serializations(profile)
    if usable:
        assert check_capture_options(profile, ("sha512",), CAPTURE_LABELS, usable[0]) == []


def test_a_profile_that_forbids_serialisation_says_drop_it(tmp_path: Path) -> None:
    profile = load_profile(custom(tmp_path, Serialization="forbidden"))
    assert check_capture_options(profile, ("sha512",), CAPTURE_LABELS, "tar.gz") == [
        "the profile forbids serialised bags: drop --serialize tar.gz"
    ]
    assert check_capture_options(profile, ("sha512",), CAPTURE_LABELS, None) == []


def test_a_self_contradicting_profile_lists_one_contradiction_per_line() -> None:
    data = {
        "BagIt-Profile-Info": {"BagIt-Profile-Identifier": "urn:x"},
        "Manifests-Required": ["md5"],
        "Manifests-Allowed": ["sha256"],
        "Tag-Files-Required": ["a.txt"],
        "Tag-Files-Allowed": ["b/*"],
    }
    with pytest.raises(BadInput) as refused:
        parse_profile(data, "test.json")
    assert str(refused.value).splitlines() == [
        "profile test.json contradicts itself:",
        "  Manifests-Required md5 is not in Manifests-Allowed",
        "  Tag-Files-Required a.txt is not covered by Tag-Files-Allowed",
    ]
