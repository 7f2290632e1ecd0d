"""The bench's one error: what the user is told, in one line, when it cannot run as asked."""

from __future__ import annotations

from index.errors import CommuniqueError


class BenchError(CommuniqueError):
    """The benchmark cannot run as asked (missing corpus, a phase that failed): one line for the user."""
