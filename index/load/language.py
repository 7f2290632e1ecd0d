"""The language of a text, as an ISO 639-1 code, deterministically."""
from __future__ import annotations

from langdetect import DetectorFactory, LangDetectException, detect_langs

# langdetect is random unless seeded; a fixed seed makes detection deterministic.
DetectorFactory.seed = 0

_LANG_SAMPLE_CHARS = 600   # enough for langdetect on a release; 2,000 made it most of a no-op update's cost


def detect_lang(text: str) -> str:
    """ISO 639-1 code of the text's language (deterministic); "en" when it cannot tell."""
    return guess_lang(text) or "en"


def guess_lang(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when it has no letters to go on."""
    sample = text[:_LANG_SAMPLE_CHARS]
    try:
        guesses = detect_langs(sample)
    except LangDetectException:  # no letters to go on
        return None
    return guesses[0].lang.split("-")[0] if guesses else None


_NAMES = {"en": "en", "eng": "en", "english": "en", "anglais": "en",
          "fr": "fr", "fra": "fr", "fre": "fr", "french": "fr", "francais": "fr", "français": "fr"}


def declared_lang(value: object) -> str | None:
    """'en' or 'fr' for a declared language ('fr-FR', 'English', 'français'); None for others or none.

    Only the two corpus languages are trusted as declared; anything else is left to detection.
    """
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return _NAMES.get(code)
