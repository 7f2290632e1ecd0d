"""Language detection for the loader: the shared implementation lives in index.language."""
from __future__ import annotations

from index.language import detect_lang, guess_lang

__all__ = ["detect_lang", "guess_lang"]
