"""Exception tree of the governance package.

GovernanceError
 └── InvalidParamsError (also ValueError): policy parameters failed validation.
"""


class GovernanceError(Exception):
    """Root of every error the governance package raises on purpose."""


class InvalidParamsError(GovernanceError, ValueError):
    """Policy parameters are invalid; the message names the field and, if known, the file."""
