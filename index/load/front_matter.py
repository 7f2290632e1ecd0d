"""YAML front matter (`---` … `---`) at the top of Markdown and text files, parsed with PyYAML."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import SourceError

# Only the fences are found by pattern; what is between them is YAML and goes to the YAML parser.
_FRONT_MATTER = re.compile(r"\A\ufeff?[ \t]*\n*---[ \t]*\n(?P<block>.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, Any], str] | None:
    """(fields with lower-case keys, text after the block), or None when the text has no front matter.

    A block that is not valid YAML, or not a mapping, is bad input: SourceError with the reason.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return None
    try:
        data = yaml.safe_load(match["block"] or "")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SourceError(f"invalid YAML front matter{where}: {problem}") from None
    except ValueError as exc:  # a well-formed but impossible timestamp, e.g. 'date: 2024-13-45'
        raise SourceError(f"invalid YAML front matter: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError("invalid YAML front matter: not a list of 'key: value' fields")
    return {str(key).strip().lower(): value for key, value in data.items()}, text[match.end() :]
