"""Who may change the index from the app: adding and removing releases share one gate (ChangeGate).

* AddPolicy              free on localhost, else behind COMMUNIQUE_ADMIN_PASSWORD (disabled without one);
* local_request_refusal  on the password-free localhost app, each request must really come from a
                         localhost page (Host, Origin, no proxy headers: DNS rebinding, issue 12.8);
* PasswordGuard          per-client back-off on wrong admin passwords, each miss logged (issue 12.10).
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from index.settings import Settings

log = logging.getLogger("communique.app")

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DISABLED_TEXT = (
    "Adding or removing releases is disabled: the app is reachable beyond localhost and no "
    "COMMUNIQUE_ADMIN_PASSWORD is set."
)

Change = Literal["add", "remove"]
_NOT_DONE = {"add": "releases were not added", "remove": "no release was removed"}


@dataclass(frozen=True)
class AddPolicy:
    """Changing the index is free on localhost, else behind COMMUNIQUE_ADMIN_PASSWORD (disabled without one)."""

    local: bool
    password: str | None

    @classmethod
    def for_launch(cls, host: str, share: bool, settings: Settings) -> AddPolicy:
        """The policy of an app listening on `host` (a share link is never local)."""
        return cls(
            local=host.strip().strip("[]").lower() in LOCAL_HOSTS and not share,
            password=settings.admin_password or None,
        )

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
            return (
                (
                    "Adding releases is disabled: the app is reachable beyond localhost and no "
                    "COMMUNIQUE_ADMIN_PASSWORD is set."
                )
                if change == "add"
                else DISABLED_TEXT
            )
        if not hmac.compare_digest((given or "").encode("utf-8"), self.password.encode("utf-8")):
            return f"Wrong admin password: {_NOT_DONE[change]}."
        return None


class PasswordGuard:
    """Per-client back-off on wrong admin passwords (1 s, doubling to 5 min), each miss logged: guessing costs time."""

    def __init__(self, first: float = 1.0, longest: float = 300.0) -> None:
        self.first, self.longest = first, longest
        self._misses: dict[str, tuple[int, float]] = {}  # client -> (misses in a row, refused until)
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds this client must still wait before its next try (0: it may try)."""
        with self._lock:
            return max(0.0, self._misses.get(client, (0, 0.0))[1] - time.monotonic())

    def missed(self, client: str) -> None:
        with self._lock:
            count = self._misses.get(client, (0, 0.0))[0] + 1
            self._misses[client] = (count, time.monotonic() + min(self.longest, self.first * 2 ** (count - 1)))
        log.warning("wrong admin password from %s (%d in a row)", client, count)

    def passed(self, client: str) -> None:
        with self._lock:
            self._misses.pop(client, None)


def local_request_refusal(request: Any, change: Change = "add") -> str | None:
    """Why a password-free change is refused for this request (DNS rebinding, a proxy in front), or None.

    Listening on 127.0.0.1 is not enough: a rebinding page or a reverse proxy reaches it with a
    foreign Host (and Origin). Only requests addressed to a localhost name, from a localhost page
    or from no page at all (scripts on this machine), and not forwarded by a proxy, may change the index.
    """
    headers = getattr(request, "headers", None)
    if headers is None:
        return None  # called in-process, not over HTTP
    done = "added" if change == "add" else "removed"
    refused = (
        f"Refused: without COMMUNIQUE_ADMIN_PASSWORD, releases can only be {done} from a page served on localhost."
    )
    host = (headers.get("host") or "").strip().lower()
    if _hostname(f"//{host}") not in LOCAL_HOSTS or headers.get("x-forwarded-for") or headers.get("forwarded"):
        return refused
    origin = (headers.get("origin") or "").strip().lower()
    if origin and (_hostname(origin) not in LOCAL_HOSTS or _netloc(origin) != host):
        return refused
    return None


def client_of(request: Any) -> str:
    """The client address of a Gradio request (what the password back-off counts by)."""
    return str(getattr(getattr(request, "client", None), "host", None) or "unknown client")


class ChangeGate:
    """The one gate in front of adding and removing: back-off, password, and where the request comes from."""

    def __init__(self, policy: AddPolicy, guard: PasswordGuard | None = None) -> None:
        self.policy = policy
        self.guard = guard or PasswordGuard()

    def refusal(self, password: str | None, request: Any = None, change: Change = "add") -> str | None:
        """Why this change is refused (the message for the user), or None when allowed."""
        policy = self.policy
        guarded = policy.needs_password and bool(policy.password)
        client = client_of(request)
        if guarded and (wait := self.guard.wait(client)) > 0:
            return f"Too many wrong admin passwords: try again in {math.ceil(wait)} s."
        refusal = policy.refusal(password, change)
        if guarded and refusal:
            self.guard.missed(client)
        elif guarded:
            self.guard.passed(client)
        if refusal is None and policy.local:
            refusal = local_request_refusal(request, change)
        return refusal


def _hostname(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc
    except ValueError:
        return ""
