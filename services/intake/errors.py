"""What intake's request commands refuse: a state change the request does not allow, or no such request."""

from __future__ import annotations


class Conflict(Exception):
    """A state change the request's current state does not allow (HTTP 409)."""


class NotFound(Exception):
    pass
