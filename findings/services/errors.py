"""Refusals the domain raises; each maps to one HTTP status in the views."""


class Refused(Exception):
    """The rules refuse this change in the current state; `blockers` say what stands in the way."""

    def __init__(self, message: str, blockers: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.blockers = blockers or []


class PhaseLocked(Refused):
    """The finding's phase waits for an earlier phase's signoff."""


class StaleVersion(Exception):
    """Someone changed the object since the page showed it; `current` is the object as it is now."""

    def __init__(self, message: str, current):
        super().__init__(message)
        self.message = message
        self.current = current
