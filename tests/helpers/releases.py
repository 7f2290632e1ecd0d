"""Small, plainly fictional releases written for the tests (no ../shared needed).

Each text says it is a test fixture; names, places, dates (2091–2099) and events are invented.
`FIXTURES` are a few hand-written ones; `fictional_releases()` generates a small corpus
(12 releases, EN and FR, several years, one undated) from the table `_SPECS`.
"""
from __future__ import annotations

from dataclasses import dataclass
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


# --------------------------------------------------------------------------- a small fictional corpus


@dataclass(frozen=True)
class Fiction:
    """One generated release: its file name and text, and the facts the tests ask about."""

    name: str
    lang: str
    date: str | None          # ISO, or None for an undated release
    title: str
    body: str                 # the invented body (e.g. "Quartz Ferry Compact")
    acronym: str              # an identifier the release defines (e.g. "QFC-3")
    person: str               # who presented it (the answer to "Who presented it?")
    surname: str
    place: str
    text: str


EN_MONTHS = ["Jan.", "Feb.", "Mar.", "Apr.", "May", "Jun.", "Jul.", "Aug.", "Sep.", "Oct.", "Nov.", "Dec."]
FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre"]

# slug, lang, ISO date (None: undated), body, acronym, kind, person, place, purpose, audience, plan
_SPECS = [
    ("quartz-ferry-compact", "en", "2091-03-14", "Quartz Ferry Compact", "QFC-3", "agreement",
     "Admiral Tovan Relk", "Port Ellory", "pools imaginary harbour ferries so that Allied crews can cross the Glass Strait",
     "harbour masters of the Allies", "add forty ferries and a night timetable"),
    ("reseau-bruine-argentee", "fr", "2091-11-02", "Réseau Bruine Argentée", "RBA-9", "réseau",
     "la générale Maëlle Duvrac", "Brumeval", "partage des relevés de brouillard imaginaires entre les Alliés",
     "météorologues des armées alliées", "installer cent nouvelles stations de brouillard"),
    ("copper-kite-board", "en", "2092-05-20", "Copper Kite Board", "CKB-12", "board",
     "Ambassador Ilse Marrow", "Kestrel Bay", "sets common rules for signalling with invented copper kites",
     "signal officers of the Allies", "publish a kite signalling handbook in three volumes"),
    ("cadre-vivier-kepis", "fr", "2093-02-08", "cadre Vivier de Képis Rapides", "VKR-N", "cadre",
     "le général Orsolya Vantreck", "Clairefontaine-sur-Nuage", "recense un vivier de forces partenaires imaginaires "
     "qui peuvent servir de multiplicateurs de force pour l'OTAN", "chefs d'état-major des pays partenaires",
     "réunir les forces partenaires pour un premier exercice commun"),
    ("amber-lighthouse-fund", "en", "2093-09-30", "Amber Lighthouse Fund", "ALF-1", "fund",
     "Doctor Pell Aster", "Nordhaven", "invests in start-ups that build imaginary self-cleaning lighthouse lamps",
     "innovation ministers of the Allies", "invest one billion invented florins over ten years"),
    ("comite-lanterne-bleue", "fr", "2094-06-11", "Comité Lanterne Bleue", "CLB-5", "comité",
     "Madame Iris Chaumond", "Villexemple", "conseille les Alliés sur la résilience des lanternes de campement fictives",
     "ministres de la Défense des Alliés", "tester chaque lanterne pendant une nuit entière"),
    ("velvet-compass-exercise", "en", "2095-01-17", "Velvet Compass exercise", "VCX-24", "exercise",
     "Lieutenant General Oren Wastle", "Examplestad", "trains invented navigation teams to find their way with velvet compasses",
     "navigation teams of twelve Allies", "hold the next exercise in the snow with twice as many teams"),
    ("programme-marmite-etain", "fr", "2095-12-05", "programme Marmite d'Étain", "PME-7", "programme",
     "l'amiral Basile Fontorge", "Sampleville", "équipe les cuisines de campagne imaginaires de marmites en étain",
     "intendants des forces alliées", "livrer deux mille marmites avant l'hiver"),
    ("silver-teaspoon-registry", "en", "2096-04-22", "Silver Teaspoon Registry", "STR-8", "registry",
     "Director Mara Quill", "Teaport", "keeps an invented register of every ceremonial teaspoon of the Alliance",
     "protocol officers of the Allies", "put the whole teaspoon register online"),
    ("initiative-horizon-pervenche", "fr", "2097-08-09", "initiative Horizon Pervenche", "IHP-2", "initiative",
     "Madame Solène Arbrisseau", "Port-Fictif", "plante des haies de pervenches imaginaires autour des bases alliées",
     "responsables de l'environnement des Alliés", "planter dix mille kilomètres de haies"),
    ("granite-owl-partnership", "en", "2098-10-28", "Granite Owl Partnership", "GOP-6", "partnership",
     "Prime Minister Edda Holm", "Westmarch", "links the Alliance with the invented Republic of Westmarch on owl sanctuaries",
     "ambassadors of the Allies", "open three owl sanctuaries on the Westmarch border"),
    ("brass-bell-committee", "en", None, "Brass Bell Committee", "BBC-0", "committee",
     "Chair Tomas Ferle", "Bellhaven", "advises the Allies on ringing invented brass bells in case of fog",
     "bell ringers of the Allies", "ring every bell of the Alliance at the same minute"),
]


def _date_line(iso: str, lang: str) -> str:
    year, month, day = (int(x) for x in iso.split("-"))
    return f"{day:02d} {FR_MONTHS[month - 1]} {year}" if lang == "fr" else f"{day:02d} {EN_MONTHS[month - 1]} {year}"


def _date_words(iso: str | None, lang: str) -> str:
    if iso is None:
        return "à une date inconnue" if lang == "fr" else "on a date nobody recorded"
    year, month, day = (int(x) for x in iso.split("-"))
    return f"le {day} {FR_MONTHS[month - 1]} {year}" if lang == "fr" else f"on {day} {EN_MONTHS[month - 1].rstrip('.')} {year}"


def _fiction(spec: tuple, extra_passages: int = 0) -> Fiction:
    slug, lang, iso, body, acronym, kind, person, place, purpose, audience, plan = spec
    surname = person.split()[-1]
    when = _date_words(iso, lang)
    if lang == "fr":
        title = f"Fixture de test : {body} ({acronym})"
        paragraphs = [
            "Ce texte est une fixture de test écrite pour les tests de communique-bot ; ce n'est pas un vrai "
            "communiqué de l'OTAN. Les noms, les lieux et les faits sont inventés.",
            f"Le {acronym} ({body}) est un {kind} fictif de l'OTAN qui {purpose}. "
            f"Il a été créé dans la ville inventée de {place} {when}.",
            f"{person[0].upper() + person[1:]} a présenté le {acronym} aux {audience} lors d'une réunion virtuelle. "
            f"Selon {surname}, le {acronym} rendra les Alliés plus forts ensemble.",
            f"D'ici deux ans, le {acronym} prévoit de {plan}. Les Alliés ont salué ce projet imaginaire.",
        ]
    else:
        title = f"Test fixture: {body} ({acronym})"
        paragraphs = [
            "This text is a test fixture written for the communique-bot tests; it is not a real NATO release. "
            "Its names, places and events are invented.",
            f"The {body} ({acronym}) is an invented NATO {kind} that {purpose}. "
            f"It was set up in the fictional city of {place} {when}.",
            f"{person} presented the {acronym} to the {audience} at a virtual meeting. "
            f"{surname} said that the {acronym} would make the Allies stronger together.",
            f"Within two years the {acronym} plans to {plan}. The Allies welcomed this imaginary plan.",
        ]
    paragraphs += [_filler(slug, i, lang) for i in range(extra_passages)]
    date_line = _date_line(iso, lang) if iso else None
    name = f"{iso or 'undated'}-{lang}-{slug}.txt"
    return Fiction(name, lang, iso, title, body, acronym, person, surname, place, release_text(title, date_line, paragraphs))


_EN_WORDS = ("lantern widget ferry kettle compass kite teaspoon owl bell marmalade harbour meadow glacier orchard "
             "lighthouse tram bicycle violin umbrella pebble saddle ribbon pigeon walnut thimble").split()
_FR_WORDS = ("lanterne marmite boussole cerf-volant cuillère chouette cloche confiture port prairie glacier verger "
             "phare tramway bicyclette violon parapluie galet selle ruban pigeon noix dé").split()


def _filler(slug: str, i: int, lang: str) -> str:
    """A ~600-character invented passage, different for every release and position (one chunk each)."""
    import random

    rng = random.Random(f"{slug}-{i}")
    words = _FR_WORDS if lang == "fr" else _EN_WORDS
    sentences = []
    while sum(len(s) + 1 for s in sentences) < 560:
        a, b, c = rng.sample(words, 3)
        n = rng.randint(2, 999)
        sentences.append(f"Dans l'annexe {i + 1}, le groupe fictif compte {n} {a}s, une {b} et un {c} imaginaires."
                         if lang == "fr" else f"In annex {i + 1}, the invented team counted {n} {a}s, one {b} and one imaginary {c}.")
    return " ".join(sentences)


def fictional_releases(extra_passages: int = 0) -> list[Fiction]:
    """The fictional corpus: 12 releases, 7 English and 5 French, 2091–2098 and one undated.

    `extra_passages` adds that many invented ~600-character passages to each (one chunk each),
    for tests that need more chunks to embed.
    """
    return [_fiction(spec, extra_passages) for spec in _SPECS]


def fiction(slug: str) -> Fiction:
    """One release of the fictional corpus by its slug (e.g. "cadre-vivier-kepis")."""
    return next(f for f in fictional_releases() if f.name.endswith(f"-{slug}.txt"))


def write_fictional_corpus(folder: Path, *, slugs: list[str] | None = None, extra_passages: int = 0) -> list[Path]:
    """Write the fictional corpus (or the releases of these slugs) into `folder` (created); their paths, resolved."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in fictional_releases(extra_passages):
        if slugs is None or any(item.name.endswith(f"-{slug}.txt") for slug in slugs):
            path = folder / item.name
            path.write_text(item.text, encoding="utf-8")
            paths.append(path.resolve())
    return paths
