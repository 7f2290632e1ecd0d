"""The root of every error this project reports to a user: one line, and the exit code a command ends with.

Each package keeps its own subclasses (index.store.StoreError, index.load.SourceError,
bot.llm.LLMError …); a command line catches `CommuniqueError` once and returns its
`exit_code`, instead of mapping classes to codes by `isinstance`.
"""

from __future__ import annotations


class CommuniqueError(Exception):
    """Something the user can fix; str() is the one line that says how."""

    exit_code = 1  # 1: the work failed; 2: a usage or configuration mistake


class UsageError(CommuniqueError):
    """A setting or argument that cannot work as given."""

    exit_code = 2
