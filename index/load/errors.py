"""The one exception of the package: why a source cannot become a release."""

from __future__ import annotations

from index.errors import CommuniqueError


class SourceError(CommuniqueError):
    """A source cannot be turned into a release; the message is the one-line reason."""
