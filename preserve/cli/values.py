"""The capture command's option values read: sizes, header lines, bag-info pairs, the options."""

from __future__ import annotations

from typing import Any

import click

from preserve.errors import BadInput
from preserve.fields import byte_size
from preserve.models import DEFAULT_CHECKSUMS, BagInfo, CaptureOptions


class SizeType(click.ParamType[int, Any]):
    """A size such as `500K`, `100M` or `2G` (powers of 1024), or a plain number of bytes."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Return the size in bytes, or fail with a usage error."""
        if isinstance(value, int):
            return value
        found = byte_size(str(value))
        if found is None:
            self.fail(f"{value!r} is not a size such as 100M or 2G", param, ctx)
        return found


class LineListType(click.ParamType[str, str]):
    """Text whose environment variable holds one value per line (values may contain spaces)."""

    name = "text"
    envvar_list_splitter = "\n"


def parse_header(text: str) -> tuple[str, str]:
    """Return the name and value of a `--header 'Name: value'`, or raise BadInput."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c in name for c in " \t\r\n"):
        raise BadInput(f"--header must look like 'Name: value', not {text!r}")
    if any(c in value for c in "\r\n"):
        raise BadInput(f"--header value must be one line: {text!r}")
    return name.strip(), value.strip()


def parse_info(text: str) -> tuple[str, str]:
    """Return the label and value of an `--info LABEL=VALUE`, or raise BadInput."""
    label, sep, value = text.partition("=")
    if not sep or not label.strip():
        raise BadInput(f"--info must look like LABEL=VALUE, not {text!r}")
    return label.strip(), value


def capture_options(opts: dict[str, Any], single: bool) -> CaptureOptions:
    """Return the CaptureOptions the capture command's parsed options ask for."""
    if opts["name"] is not None and not single:
        raise BadInput("--name can only be used with one URL")
    info = BagInfo(
        source_organization=opts["source_organization"],
        contact_name=opts["contact_name"],
        contact_email=opts["contact_email"],
        contact_phone=opts["contact_phone"],
        organization_address=opts["organization_address"],
        extra=tuple(parse_info(i) for i in opts["info"]),
    )
    return CaptureOptions(
        timeout=opts["timeout"],
        retries=opts["retries"],
        max_redirects=opts["max_redirects"],
        max_size=opts["max_size"],
        max_bytes=opts["max_bytes"],
        max_pages=opts["max_pages"],
        max_requisites=opts["max_requisites"],
        workers=opts["workers"],
        host_workers=opts["host_workers"],
        wait=opts["wait"],
        user_agent=opts["user_agent"],
        headers=tuple(parse_header(h) for h in opts["headers"]),
        cookies=opts["cookies"],
        proxy=opts["proxy"],
        ca_bundle=opts["ca_bundle"],
        insecure=opts["insecure"],
        checksums=tuple(dict.fromkeys(opts["checksums"])) or DEFAULT_CHECKSUMS,
        strict=opts["strict"],
        name=opts["name"],
        bag_info=info,
        dc=tuple(opts["dc"]),
        metadata_file=opts["metadata_file"],
        metadata_location=opts["metadata_location"],
        profile=opts["profile"],
        serialize=opts["serialize"],
        depth=opts["depth"],
        scope=opts["scope"],
        include=tuple(opts["include"]),
        exclude=tuple(opts["exclude"]),
        linked_media=opts["linked_media"],
        ignore_robots=opts["ignore_robots"],
        allow_private=opts["allow_private"],
        payload=opts["payload"],
        access=opts["access"],
        browser=opts["browser"],
        browser_timeout=opts["browser_timeout"],
        browser_quiet_ms=opts["browser_quiet"],
        browser_scrolls=opts["browser_scrolls"],
    )
