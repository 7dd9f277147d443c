"""Replica counts per (service, failure domain) pair: the state behind spread, anti-affinity."""

from __future__ import annotations

import numpy as np

from governance.policy.types import I32, I64


class PairCounts:
    """Sorted (service * n_domains + domain) keys with counts; vector lookups, cheap batched adds.

    Only the pairs of services a call cares about are held, so building it costs in proportion to
    their replicas, not to the whole network.
    """

    __slots__ = ("_counts", "_dict", "_keys", "_stale", "n_domains")

    def __init__(self, keys: I64, n_domains: int) -> None:
        self.n_domains = n_domains
        self._keys, counts = np.unique(keys, return_counts=True)
        self._counts = counts.astype(np.int32)
        self._dict: dict[int, int] | None = None
        self._stale = False

    def key(self, service: I32 | I64, domain: I32 | I64) -> I64:
        """Pair keys of broadcast ``service`` and ``domain`` arrays."""
        return service.astype(np.int64) * self.n_domains + domain

    def lookup(self, keys: I64) -> I32:
        """Counts for ``keys`` (0 where absent), any shape."""
        self._sync()
        if self._keys.shape[0] == 0:
            return np.zeros(keys.shape, dtype=np.int32)
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, self._keys.shape[0] - 1)
        hit = self._keys[pos] == keys
        return np.where(hit, self._counts[pos], 0).astype(np.int32)

    def add(self, keys: I64) -> None:
        """Count one more replica for each key (duplicates add up)."""
        if keys.shape[0] == 0:
            return
        self._sync()
        new_keys, new_counts = np.unique(keys, return_counts=True)
        all_keys = np.concatenate([self._keys, new_keys])
        all_counts = np.concatenate([self._counts, new_counts.astype(np.int32)])
        self._keys, inverse = np.unique(all_keys, return_inverse=True)
        self._counts = np.bincount(inverse, weights=all_counts).astype(np.int32)
        self._dict = None

    def get(self, key: int) -> int:
        """Scalar lookup (exact mode); backed by a dict built on first use."""
        return self._as_dict().get(key, 0)

    def add_one(self, key: int) -> None:
        """Scalar add (exact mode); the arrays are rebuilt lazily on the next vector lookup."""
        d = self._as_dict()
        d[key] = d.get(key, 0) + 1
        self._stale = True

    def _as_dict(self) -> dict[int, int]:
        if self._dict is None:
            self._dict = dict(zip(self._keys.tolist(), self._counts.tolist(), strict=True))
        return self._dict

    def _sync(self) -> None:
        if not self._stale or self._dict is None:
            return
        d = self._dict
        self._keys = np.fromiter(sorted(d), dtype=np.int64, count=len(d))
        self._counts = np.fromiter(
            (d[k] for k in self._keys.tolist()), dtype=np.int32, count=len(d)
        )
        self._stale = False
