"""Example questions that fit the served index: COMMUNIQUE_EXAMPLES, else built from the indexed releases."""

from __future__ import annotations

from collections.abc import Sequence

from index.catalog import ReleaseInfo
from index.settings import Settings

MAX_EXAMPLES = 3
_ASK = {"fr": "Que dit le communiqué « {title} » ?", "en": "What does the release “{title}” say?"}


def example_questions(settings: Settings, releases: Sequence[ReleaseInfo]) -> list[str]:
    """Up to MAX_EXAMPLES questions; none while the index is empty (an example must have an answer)."""
    if not releases:
        return []
    if settings.examples:
        return list(settings.examples[:MAX_EXAMPLES])
    questions: list[str] = []
    by_lang: dict[str, list[ReleaseInfo]] = {}
    for release in releases:  # newest first (index.catalog's order)
        if release.title.strip():
            by_lang.setdefault(release.lang, []).append(release)
    while by_lang and len(questions) < MAX_EXAMPLES:  # one language after the other
        for lang in sorted(by_lang):
            if by_lang[lang] and len(questions) < MAX_EXAMPLES:
                title = " ".join(by_lang[lang].pop(0).title.split())
                questions.append(_ASK.get(lang, _ASK["en"]).format(title=title))
        by_lang = {k: v for k, v in by_lang.items() if v}
    return questions
