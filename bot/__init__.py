"""Answers questions about NATO communiqués from the index, with numbered citations.

from bot import answer, retrieve
a = answer("What is PAF-N?")
a.text, a.found, a.citations
"""

from .answer import Bot, answer, answer_stream, close_all, default_bot, refresh
from .citations import Answer, Citation
from .retrieve import CommuniqueRetriever, retrieve

__all__ = [
    "Answer",
    "Bot",
    "Citation",
    "CommuniqueRetriever",
    "answer",
    "answer_stream",
    "close_all",
    "default_bot",
    "refresh",
    "retrieve",
]
