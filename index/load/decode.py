"""Bytes to text: BOMs, declared charsets, Windows code pages, and refusing binary content."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from .errors import SourceError


def text_from_bytes(data: bytes, charset: str | None) -> str:
    """Decode a text source, refusing binary content and empty text."""
    if b"\x00" in data and not data.startswith(_WIDE_BOMS):
        raise SourceError("binary file, not text")
    text = decode_bytes(data, hint=charset)
    if len(_CONTROL_CHARS.findall(text)) > 0.2 * len(text):
        raise SourceError("binary file, not text")
    if not text.strip():
        raise SourceError("empty file (only whitespace)")
    return text


# C0/C1 control characters other than whitespace, and the replacement character.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_WIDE_BOMS = tuple(bom for bom, _ in _BOMS)


def decode_bytes(data: bytes, hint: str | None = None) -> str:
    """Decode text whatever its encoding: UTF-8, a BOM, a declared charset, else a careful guess.

    Releases copied on Windows arrive in cp1252 or Latin-1; those must come back
    exactly, curly quotes and € included, so Western text that decodes cleanly as
    cp1252 wins over charset_normalizer's guess (which often picks cp1250 for
    short French text). Other scripts are left to charset_normalizer.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                break
    if hint:
        try:
            return data.decode(_whatwg_encoding(hint))
        except (LookupError, UnicodeDecodeError):
            pass
    western = _decode_or_none(data, "cp1252")
    if western is not None and _looks_western(western):
        return western
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and not best.encoding.startswith(("utf_16", "utf_32")):
        return str(best)
    return data.decode("cp1252", errors="replace")


def _whatwg_encoding(label: str) -> str:
    """Servers and pages that say ISO-8859-1 or ASCII mean windows-1252 (as browsers assume)."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return label
    return "cp1252" if name in ("iso8859-1", "ascii") else name


def _decode_or_none(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


_NON_ASCII_INSIDE_WORD = re.compile(r"(?<=[^\W\d_])[^\x00-\x7f](?=[^\W\d_])")
_WORD_PUNCTUATION = "’‘–—·"


def _looks_western(text: str) -> bool:
    """Mostly ASCII letters, and no symbol wedged inside a word.

    Text in another single-byte code page also decodes as cp1252, but gives
    itself away: cp1251 Russian turns into nothing but accented letters, and
    cp1250 Polish into words like 'mo¿e' or 'w³adze'.
    """
    sample = text[:100_000]
    letters = [char for char in sample if char.isalpha()]
    non_ascii = sum(1 for char in letters if not char.isascii())
    if non_ascii > 0.3 * len(letters):
        return False
    return all(
        match.group().isalpha() or match.group() in _WORD_PUNCTUATION
        for match in _NON_ASCII_INSIDE_WORD.finditer(sample)
    )


def declared_html_charset(data: bytes, kind: str) -> str | None:
    """The charset an HTML document declares in a <meta> tag, if any."""
    if kind != "html":
        return None
    match = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", data[:4096], re.IGNORECASE)
    return match.group(1).decode("ascii") if match else None
