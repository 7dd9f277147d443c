"""Names of the filter, scorer and eviction plugins (one strategy per module), resolved lazily.

`PolicyParams` validates names against these tuples; the placement and eviction code resolve them to
plugin objects with `filters`/`scorers`/`evictors`. Names are fixed here so validation never has to
import the plugin modules.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from governance.policy.context import Filter, Scorer
    from governance.policy.eviction_plugins import Evictor

FILTER_NAMES: tuple[str, ...] = (
    "node_available",
    "capacity_fit",
    "tier_allowed",
    "newcomer_quota",
    "region",
    "anti_affinity",
    "eviction_cooldown",
)
SCORER_NAMES: tuple[str, ...] = (
    "reputation",
    "least_allocated",
    "most_allocated",
    "spread",
    "locality",
)
EVICTOR_NAMES: tuple[str, ...] = (
    "node_dead",
    "reputation_floor",
    "node_overloaded",
    "service_unpaid",
    "sla_violations",
    "node_underused",
)


@functools.cache  # resolved once per name: a small network's cycle resolves ~20 plugins
def _load(package: str, name: str) -> Any:
    return importlib.import_module(f"governance.policy.{package}.{name}").PLUGIN


def filters(names: tuple[str, ...]) -> tuple[Filter, ...]:
    """Filter plugins for ``names`` (validated by `PolicyParams`)."""
    return tuple(_load("filters", n) for n in names)


def scorers(names: tuple[str, ...]) -> tuple[Scorer, ...]:
    """Scorer plugins for ``names``."""
    return tuple(_load("scorers", n) for n in names)


def evictors(names: tuple[str, ...]) -> tuple[Evictor, ...]:
    """Eviction plugins for ``names``."""
    return tuple(_load("evictors", n) for n in names)
