"""Small, plainly fictional releases written by the team for tests (never real release text)."""
from __future__ import annotations

from pathlib import Path

_PLACES = ["Quillbury", "Marrowby", "Fennick Cove", "Thistlemoor", "Gorsewick", "Brambleton", "Owlstead", "Puddlemere"]
_THINGS = ["cheese lighthouses", "kite bridges", "otter patrols", "tea reserves", "lantern ferries", "snow pianos"]


def release_text(n: int, *, paragraphs: int = 2, lang: str = "en") -> str:
    """The text of fictional release number `n`, in the nato.int plain-text layout."""
    place, thing = _PLACES[n % len(_PLACES)], _THINGS[n % len(_THINGS)]
    day = 1 + n % 27
    if lang == "fr":
        body = [f"Le Conseil des Morses s'est réuni à {place} pour la réunion imaginaire numéro {n}. "
                f"Les ministres fictifs ont adopté le plan des {thing} numéro {n}." for _ in range(paragraphs)]
        return f"Le Conseil des Morses adopte le plan {n} à {place}\n\n  • {day:02d} Mar. 2031 -\n  • |\n\n" + "\n\n".join(body) + "\n"
    body = [f"Paragraph {p} of release {n}: the Walrus Council met in {place} and agreed on the {thing} plan number {n}. "
            f"Ministers of the imaginary alliance asked for a review in the Year of the Blue Otter {n}."
            for p in range(paragraphs)]
    return f"Walrus Council agrees on plan {n} in {place}\n\n  • {day:02d} Mar. 2031 -\n  • |\n\n" + "\n\n".join(body) + "\n"


def write_release(path: Path, n: int, **kwargs: object) -> Path:
    """Write fictional release `n` to `path` (folders created); returns the resolved path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(release_text(n, **kwargs), encoding="utf-8")   # type: ignore[arg-type]
    return path.resolve()
