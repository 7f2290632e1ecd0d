"""Answers questions about NATO communiqués from the index, with numbered citations.

    from bot import answer, retrieve
    a = answer("What is PAF-N?")
    a.text, a.found, a.citations
"""
from .answer import answer, answer_stream
from .citations import Answer, Citation
from .retrieve import CommuniqueRetriever, retrieve
from .search import refresh

__all__ = ["Answer", "Citation", "CommuniqueRetriever", "answer", "answer_stream", "refresh", "retrieve"]
