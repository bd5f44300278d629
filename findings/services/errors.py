"""Refusals the domain raises; each carries the HTTP status and the message a view answers with."""

from http import HTTPStatus


class Refused(Exception):
    """The rules refuse this change in the current state; `blockers` say what stands in the way.

    `current` is the object as the service read it when it refused, when it read one, so that the
    refusal can be drawn without reading it again.
    """

    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, message: str, blockers: list[str] | None = None, current=None):
        super().__init__(message)
        self.message = message
        self.blockers = blockers or []
        self.current = current

    @property
    def explanation(self) -> str:
        """The message with what stands in the way, as the person who asked is told it."""
        return " ".join([self.message, *self.blockers])


class PhaseLocked(Refused):
    """The finding's phase waits for an earlier phase's signoff; the one blocker is the reason."""

    status = HTTPStatus.LOCKED

    @property
    def explanation(self) -> str:
        # The message already ends with the lock's reason.
        return self.message

    @property
    def lock_reason(self) -> str:
        return " ".join(self.blockers)


class StaleVersion(Exception):
    """Someone changed the object since the page showed it; `current` is the object as it is now."""

    status = HTTPStatus.CONFLICT

    def __init__(self, message: str, current):
        super().__init__(message)
        self.message = message
        self.current = current

    @property
    def explanation(self) -> str:
        return self.message
