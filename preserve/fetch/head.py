"""Response heads read as received: every field line a browser keeps, the bytes kept whole.

Python's HTTP client hands a response head to the email parser, which stops at the first
line it cannot read (a field name with a space, a line without a colon) and drops every
field after it, Content-Length included. Here the head is read first, line by line within
bounds, and kept byte for byte; each field line is parsed as browsers parse it (obsolete
folding joined, a malformed line skipped and noted, never the lines after it); the HTTP
client is then given only well-formed field lines, so Content-Length and Transfer-Encoding
are honoured whatever came before them.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

MAX_LINE = 65536
"""Bytes in one line of a head, as the HTTP client allows."""
MAX_FIELDS = 100
"""Lines in one head, as the HTTP client allows."""
MAX_HEAD = 256 * 1024
"""Bytes in one head, status line included."""

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS = re.compile(rb"HTTP/\S+[ \t]+(\d{3})")


@dataclass(slots=True)
class ReceivedHead:
    """A response head as received: its bytes, its field lines parsed, what was skipped."""

    raw: bytes = b""
    fields: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_fields(lines: list[bytes]) -> ReceivedHead:
    """Return the fields of a head's field lines (status line and blank line excluded).

    Names and values are decoded as Latin-1, so every byte is kept and none is refused. A
    line starting with a space or tab continues the field before it (obsolete folding); a
    line without a colon, or with an empty name, is skipped and noted.
    """
    head = ReceivedHead()
    for number, line in enumerate(lines, 2):
        text = line.rstrip(b"\r\n")
        if text[:1] in (b" ", b"\t") and head.fields:
            before, value = head.fields[-1]
            more = text.strip(b" \t").decode("latin-1")
            head.fields[-1] = (before, f"{value} {more}".strip())
            continue
        raw_name, colon, raw_value = text.partition(b":")
        if not colon or not raw_name.strip(b" \t"):
            head.notes.append(f"response head line {number} is not a field: skipped")
            continue
        head.fields.append((raw_name.decode("latin-1"), raw_value.strip(b" \t").decode("latin-1")))
    return head


def client_lines(head: ReceivedHead) -> list[bytes]:
    """Return the field lines the HTTP client may read: those whose name is a token."""
    lines = []
    for name, value in head.fields:
        raw_name = name.encode("latin-1")
        if _TOKEN.fullmatch(raw_name):
            lines.append(raw_name + b": " + value.encode("latin-1") + b"\r\n")
    return lines


class HeadReader:
    """The connection's byte stream, with each response head read ahead and kept.

    The HTTP client reads the head line by line through `readline`; the body and everything
    else pass straight through to the stream.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._state = "status"
        self._status = 0
        self._pending: list[bytes] = []
        self._raw: list[bytes] = []
        self.head: ReceivedHead | None = None

    def readline(self, limit: int = -1) -> bytes:
        """Return the next line as the HTTP client should see it."""
        if self._state == "status":
            line = self._stream.readline(MAX_LINE + 1)
            self._raw = [line]
            found = _STATUS.match(line)
            self._status = int(found.group(1)) if found else 0
            self._state = "fields"
            return line
        if self._state == "fields":
            self._read_fields()
        if self._state == "serving":
            line = self._pending.pop(0)
            if not self._pending:
                self._state = "status" if 100 <= self._status < 200 else "body"
            return line
        return self._stream.readline(limit)

    def _read_fields(self) -> None:
        """Read the rest of the head, keep it, and queue the lines the client may read."""
        lines: list[bytes] = []
        size = len(self._raw[0])
        while True:
            line = self._stream.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise http.client.LineTooLong("header line")
            size += len(line)
            if size > MAX_HEAD:
                raise http.client.HTTPException(
                    f"got more than {MAX_HEAD} bytes when reading header lines"
                )
            if line in (b"\r\n", b"\n", b""):
                end = line
                break
            lines.append(line)
            if len(lines) > MAX_FIELDS:
                raise http.client.HTTPException(f"got more than {MAX_FIELDS} headers")
        parsed = parse_fields(lines)
        if not 100 <= self._status < 200:
            parsed.raw = b"".join([*self._raw, *lines, end])
            self.head = parsed
        self._pending = [*client_lines(parsed), end or b"\r\n"]
        self._state = "serving"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class RecordingResponse(http.client.HTTPResponse):
    """An HTTP response that keeps its head as received (see HeadReader)."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.head_reader = HeadReader(self.fp)
        self.fp = self.head_reader  # type: ignore[assignment]

    @property
    def received_head(self) -> ReceivedHead | None:
        """Return the final head as received, once read."""
        return self.head_reader.head
