"""Language for the loader: detection lives in index.language (shared with the bot); declared languages here."""

from __future__ import annotations

from index.language import detect_lang, guess_lang

__all__ = ["declared_lang", "detect_lang", "guess_lang"]

_NAMES = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "anglais": "en",
    "fr": "fr",
    "fra": "fr",
    "fre": "fr",
    "french": "fr",
    "francais": "fr",
    "français": "fr",
}


def declared_lang(value: object) -> str | None:
    """'en' or 'fr' for a declared language ('fr-FR', 'English', 'français'); None for others or none.

    Only the two corpus languages are trusted as declared; anything else is left to detection.
    """
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return _NAMES.get(code)
