"""Who may change the index from the app: adding and removing releases share one gate."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from index.settings import Settings

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DISABLED_TEXT = ("Adding or removing releases is disabled: the app is reachable beyond localhost and no "
                 "COMMUNIQUE_ADMIN_PASSWORD is set.")

Change = Literal["add", "remove"]
_NOT_DONE = {"add": "releases were not added", "remove": "no release was removed"}


@dataclass(frozen=True)
class AddPolicy:
    """Changing the index is free on localhost, else behind COMMUNIQUE_ADMIN_PASSWORD (disabled without one)."""

    local: bool
    password: str | None

    @classmethod
    def for_launch(cls, host: str, share: bool, settings: Settings) -> "AddPolicy":
        """The policy of an app listening on `host` (a share link is never local)."""
        return cls(local=host.strip().strip("[]").lower() in LOCAL_HOSTS and not share, password=settings.admin_password or None)

    @property
    def needs_password(self) -> bool:
        return not self.local

    @property
    def enabled(self) -> bool:
        return self.local or bool(self.password)

    def refusal(self, given: str | None, change: Change = "add") -> str | None:
        """Why the change is refused with this password, or None when allowed."""
        if self.local:
            return None
        if not self.password:
            return ("Adding releases is disabled: the app is reachable beyond localhost and no "
                    "COMMUNIQUE_ADMIN_PASSWORD is set.") if change == "add" else DISABLED_TEXT
        if not hmac.compare_digest((given or "").encode("utf-8"), self.password.encode("utf-8")):
            return f"Wrong admin password: {_NOT_DONE[change]}."
        return None
