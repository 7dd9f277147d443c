"""Exception tree of the simulator.

SimError └── ScenarioError (also ValueError): a scenario file is invalid; names file, field and
reason.
"""


class SimError(Exception):
    """Root of every error the simulator raises on purpose."""


class ScenarioError(SimError, ValueError):
    """A scenario file is invalid: the message names the file, the field and the reason."""
