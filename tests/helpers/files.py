"""Release files written by the tests themselves: plain bytes, and the literal strings of hand-made PDFs."""

from __future__ import annotations

from pathlib import Path

from index.load import load_file
from index.release import Release


def write(path: Path, content: str | bytes) -> Path:
    """Write `content` (str as UTF-8) and return the file's resolved path."""
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path.resolve()


def load(path: Path) -> Release:
    """The release index.load reads from one file (1 MB cap)."""
    return load_file(path, max_bytes=1_000_000)


def pdf_string(text: str) -> str:
    """A PDF literal string body in WinAnsiEncoding, escaped."""
    out = []
    for byte in text.encode("cp1252"):
        char = chr(byte)
        if char in "()\\":
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


def pdf_bytes(objects: list[bytes], info: int) -> bytes:
    """A PDF file of these objects (numbered from 1, the catalog first; `info`: the document info's number),
    with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)
