"""Small, plainly fictional releases written for the app tests (no ../shared needed).

Each text says it is a test fixture; names, places, dates (2096–2099) and events are invented.
"""
from __future__ import annotations

from pathlib import Path


def release_text(title: str, date_line: str | None, paragraphs: list[str]) -> str:
    """A release in the nato.int text layout: title, the date bullets (omitted for an undated one), the body."""
    header = f"  • {date_line} -\n  • |\n  • Last updated: {date_line} 10:00\n\n" if date_line else ""
    return f"{title}\n\n{header}" + "\n\n".join(paragraphs) + "\n"


QUARTZ = release_text("Test fixture: NATO widget exercise 2099", "01 Jan. 2099", [
    "This text is a test fixture written for the app's tests; it is not a real NATO release.",
    "Exercise Quartz Lantern is an invented NATO widget exercise in which Allied engineers test the interoperability "
    "of imaginary field widgets. The exercise took place in the fictional town of Examplestad and brought together "
    "widget teams from several Allies, who rehearsed connecting widgets of different makes under time pressure.",
    "During Exercise Quartz Lantern the teams also trialled an invented widget repair kit. The organisers of Exercise "
    "Quartz Lantern said that every imaginary widget worked with every other one by the last day, and that the next "
    "edition of the widget exercise will again be held in Examplestad, with more teams and more widgets than this year.",
    "The widget teams also held an invented seminar on painting widgets blue, in which nothing of note was decided "
    "and which is described here only so that this fictional release has several passages of text for the tests.",
])
AMBER = release_text("Test fixture: Amber Kettle committee 2097", "15 Mar. 2097", [
    "This text is a test fixture written for the app's tests; it is not a real NATO release.",
    "The Amber Kettle Committee is an invented NATO body that advises Allies on imaginary kettles for field kitchens. "
    "It met for the first time in the fictional city of Sampleburg.",
])
LANTERNE = release_text("Fixture de test : réunion fictive sur les lanternes 2098", "12 juin 2098", [
    "Ce texte est une fixture de test écrite pour les tests de l'application ; ce n'est pas un vrai communiqué de l'OTAN.",
    "Le Groupe Lanterne Violette est un groupe fictif de l'OTAN qui étudie des lanternes imaginaires pour les "
    "campements. Il s'est réuni dans la ville inventée de Villexemple.",
])
UNDATED = release_text("Test fixture: Copper Teaspoon office", None, [
    "This text is a test fixture written for the app's tests; it is not a real NATO release.",
    "The Copper Teaspoon Office is an invented NATO office that keeps an imaginary register of teaspoons.",
])
HOSTILE_TITLE = "Test fixture: hostile <b>markup</b> <img src=x onerror=window.__xss=4> release 2098"
HOSTILE = release_text(HOSTILE_TITLE, "02 Feb. 2098", [
    "This text is a test fixture for the app's escaping; it is not a real NATO release.",
    "Operation Velvet Teapot is an invented drill whose log shows <script>window.__xss=1</script> as plain text.\n"
    "Operation Velvet Teapot also records <img src=x onerror=\"window.__xss=2\"> and [click](javascript:window.__xss=3) as plain text.",
])

FIXTURES = {"2099-01-01-en-quartz-lantern.txt": QUARTZ, "2097-03-15-en-amber-kettle.txt": AMBER,
            "2098-06-12-fr-lanterne-violette.txt": LANTERNE, "undated-en-copper-teaspoon.txt": UNDATED}


def write_releases(folder: Path, names: list[str] | None = None) -> list[Path]:
    """Write fixture releases (all of FIXTURES, or these names) into `folder` (created); their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or list(FIXTURES):
        path = folder / name
        path.write_text(FIXTURES[name], encoding="utf-8")
        paths.append(path)
    return paths
