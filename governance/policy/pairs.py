"""Replica counts per (service, failure domain) pair: the state behind spread, anti-affinity."""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.prefetch import prefetch_read
from governance.policy.sorting import grouped_counts_jit, sort_keys
from governance.policy.types import I32, I64, Bool

#: Rows between the prefetch of a row's candidate domains and their use: enough misses in flight
#: to hide memory latency when the candidates are random rows of a large node table.
_AHEAD = 8


def sorted_counts(keys: I64, group: int = 0) -> tuple[I64, I32]:
    """Sorted distinct keys and their multiplicities (cheaper than np.unique here).

    With ``group`` > 0, keys whose ``key // group`` never decreases (pair keys of a replica
    table grouped by service) are counted run by run without a sort of the whole array.
    """
    if keys.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
    if group > 0:
        out_keys = np.empty(keys.shape[0], dtype=np.int64)
        out_counts = np.empty(keys.shape[0], dtype=np.int32)
        found = grouped_counts_jit(keys, group, out_keys, out_counts)
        if found >= 0:
            return out_keys[:found], out_counts[:found]
    keys = sort_keys(keys)
    starts = run_starts(keys)
    counts = np.empty(starts.shape[0], dtype=np.int32)  # run lengths: no np.r_/np.diff overhead
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = keys.shape[0] - starts[-1]
    return keys[starts], counts


def run_starts(sorted_keys: I64) -> I64:
    """Positions where a run of equal keys starts in a non-empty sorted array."""
    first = np.empty(sorted_keys.shape[0], dtype=np.bool_)
    first[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    out: I64 = np.flatnonzero(first)
    return out


def _count_pairs_loop(keys: I64, counts: I32, starts: I64, n_domains: int, service: I32,
                      present: Bool, domain: I32, nodes: I32, out: I32) -> None:  # fmt: skip
    """``out[b, j]``: the count of key ``service[b] * n_domains + domain[nodes[b, j]]`` (0: none).

    A row's keys are one run of the sorted table (its service's domains, a handful): found by
    ``starts`` (the run of service s is ``starts[s]:starts[s + 1]``) when it is not empty, else
    by a search per row whose service is ``present`` (galloping on from the previous row's run
    when the rows come in service order); then a short scan per candidate.
    The domains of the candidates ``_AHEAD`` rows on are prefetched.
    """
    indexed = starts.shape[0] > 0
    m = keys.shape[0]
    rows = nodes.shape[0]
    last_base = np.int64(-1)  # the previous searched row's run: its service and start
    last_lo = 0
    for b in range(rows):
        ahead = b + _AHEAD
        if ahead < rows and present[ahead]:
            for j in range(nodes.shape[1]):
                prefetch_read(domain, nodes[ahead, j])
        if not present[b]:  # no replica of the service yet (most rows of a fresh network)
            for j in range(nodes.shape[1]):
                out[b, j] = 0
            continue
        base = np.int64(service[b]) * n_domains
        if indexed:
            lo, hi = starts[service[b]], starts[service[b] + 1]
        else:
            if base >= last_base:
                # Rows in service order (pending rows of a table grouped by service): the run
                # lies at or past the previous one, found by galloping from it; keys before
                # ``last_lo`` are below ``last_base``, so the first key >= base is not there.
                lo = last_lo
                if lo < m and keys[lo] < base:
                    below = lo  # keys[below] < base
                    step = 1
                    lo = below + 1
                    while lo < m and keys[lo] < base:
                        below = lo
                        step *= 2
                        lo = below + step
                    lo = min(lo, m)
                    while lo - below > 1:  # keys[below] < base, and lo == m or keys[lo] >= base
                        mid = (below + lo) // 2
                        if keys[mid] < base:
                            below = mid
                        else:
                            lo = mid
            else:
                lo = np.searchsorted(keys, base)
            last_base = base
            last_lo = lo
            hi = lo
            while hi < m and keys[hi] < base + n_domains:
                hi += 1
        for j in range(nodes.shape[1]):
            key = base + domain[nodes[b, j]]
            found = 0
            for p in range(lo, hi):
                if keys[p] == key:
                    found = counts[p]
                    break
            out[b, j] = found


def _service_starts_loop(keys: I64, n_domains: int, out: I64) -> None:
    """``out[s]``: the first position of sorted ``keys`` at or past service s's keys.

    That is ``searchsorted(keys, s * n_domains)`` for every s < ``out.shape[0]``, in one merge
    pass instead of a binary search per service.
    """
    p = 0
    m = keys.shape[0]
    for s in range(out.shape[0]):
        bound = np.int64(s) * n_domains
        while p < m and keys[p] < bound:
            p += 1
        out[s] = p


def _add_keys_loop(old_keys: I64, old_counts: I32, keys: I64, presorted: bool, n_domains: int,
                   flags: Bool, out_keys: I64, out_counts: I32) -> tuple[int, int]:  # fmt: skip
    """Merge ``keys`` (repeats count; sorted if ``presorted``) into ``old_keys``/``old_counts``.

    Writes the sorted distinct keys and summed counts to ``out_keys``/``out_counts`` (room for
    ``old + keys`` entries) and sets ``flags[service]`` of each key not in the old table whose
    service is inside ``flags``. Returns the entries written and one past the largest service
    of a new key (0: none), so the caller can grow ``flags``.
    """
    new = keys if presorted else np.sort(keys)
    n_old = old_keys.shape[0]
    n_new = new.shape[0]
    i = j = m = 0
    top = 0
    while i < n_old or j < n_new:
        if j < n_new and (i == n_old or new[j] <= old_keys[i]):
            key = new[j]
            c = 0
            while j < n_new and new[j] == key:
                c += 1
                j += 1
            if i < n_old and old_keys[i] == key:
                c += old_counts[i]
                i += 1
            else:
                service = key // n_domains
                top = max(top, service + 1)
                if service < flags.shape[0]:
                    flags[service] = True
            out_keys[m] = key
            out_counts[m] = c
        else:
            out_keys[m] = old_keys[i]
            out_counts[m] = old_counts[i]
            i += 1
        m += 1
    return m, top


add_keys_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_add_keys_loop)
count_pairs_loop = numba.njit(cache=True, nogil=True, error_model="numpy")(_count_pairs_loop)
service_starts_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_service_starts_loop)
_NO_STARTS = np.empty(0, dtype=np.int64)
_NO_FLAGS = np.zeros(0, dtype=np.bool_)
#: From this many keys on a radix sort first beats the compiled loop's own (set against numpy's
#: sort, which the radix sort replaced).
_RADIX_SORT_FROM = 256


def service_starts(keys: I64, n_domains: int, n_services: int) -> I64:
    """Per service id s <= ``n_services``: where its run starts in sorted pair ``keys``."""
    out = np.empty(n_services + 1, dtype=np.int64)
    service_starts_jit(keys, n_domains, out)
    return out


class PairCounts:
    """Sorted (service * n_domains + domain) keys with counts; vector lookups, cheap batched adds.

    Only the pairs of services a call cares about are held, so building it costs in proportion to
    their replicas, not to the whole network.
    """

    __slots__ = (
        "_counts",
        "_dict",
        "_keys",
        "_present",
        "_spare",
        "_stale",
        "_starts",
        "n_domains",
    )

    def __init__(self, keys: I64, n_domains: int) -> None:
        self.n_domains = n_domains
        self._keys, self._counts = sorted_counts(keys, n_domains)
        self._dict: dict[int, int] | None = None
        self._stale = False
        self._present: Bool | None = None  # per service id: any key counted (built lazily)
        # Merge target of the next add (keys, counts), swapped with the live
        # table after each merge: reused buffers instead of fresh ones, whose first-touch page
        # faults dominated the batched adds.
        self._spare: tuple[I64, I32] | None = None
        self._starts: I64 | None = None  # per service id, where its run starts (`index_services`)

    @classmethod
    def from_sorted(cls, keys: I64, counts: I32, n_domains: int) -> PairCounts:
        """A table from distinct ascending ``keys`` and their positive ``counts`` (no sort)."""
        table = cls(np.empty(0, dtype=np.int64), n_domains)
        table._keys, table._counts = keys, counts
        return table

    def index_services(self, n_services: int) -> None:
        """Index the table by service id below ``n_services`` until the next add.

        O(n_services) once; `count_pairs` then finds a row's run without a binary search, which
        pays off when a static table serves many rows.
        """
        self._sync()
        self._starts = service_starts(self._keys, self.n_domains, n_services)

    def key(self, service: I32 | I64, domain: I32 | I64) -> I64:
        """Pair keys of broadcast ``service`` and ``domain`` arrays."""
        return service.astype(np.int64) * self.n_domains + domain

    def present(self, service: I32 | I64) -> Bool:
        """Whether each service has any counted replica (a cheap pre-check before lookups).

        A dense flag per service id, built on first use and kept current by `add`: one gather
        per call instead of a binary search per service.
        """
        keys = self.keys
        top = int(service.max()) + 1 if service.size else 0
        flags = self._present
        if flags is None:
            size = max(top, int(keys[-1]) // self.n_domains + 1 if keys.size else 0)
            flags = np.zeros(size, dtype=bool)
            flags[keys // self.n_domains] = True
            self._present = flags
        elif top > flags.shape[0]:
            flags = self._grow_present(flags, top)
        out: Bool = flags[service]
        return out

    def _grow_present(self, old: Bool, size: int) -> Bool:
        flags = np.zeros(max(size, old.shape[0] * 3 // 2), dtype=bool)
        flags[: old.shape[0]] = old
        self._present = flags
        return flags

    @property
    def keys(self) -> I64:
        """The sorted distinct keys."""
        self._sync()
        return self._keys

    def domains_of(self, service: int) -> list[int]:
        """Domains with a nonzero count for ``service``."""
        keys = self.keys
        lo = np.searchsorted(keys, service * self.n_domains)
        hi = np.searchsorted(keys, (service + 1) * self.n_domains)
        out: list[int] = (keys[lo:hi] % self.n_domains).tolist()
        return out

    @property
    def empty(self) -> bool:
        self._sync()
        return bool(self._keys.shape[0] == 0)

    def lookup(self, keys: I64) -> I32:
        """Counts for ``keys`` (0 where absent), any shape."""
        self._sync()
        if self._keys.shape[0] == 0:
            return np.zeros(keys.shape, dtype=np.int32)
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, self._keys.shape[0] - 1)
        hit = self._keys[pos] == keys
        return np.where(hit, self._counts[pos], 0).astype(np.int32)

    def count_pairs(self, service: I32, domain: I32, nodes: I32) -> I32:
        """``lookup(key(service[:, None], domain[nodes]))`` for (B, k) ``nodes``, one compiled pass.

        No (B, k) key, position or hit temporaries, and no gather of ``domain`` beforehand.
        """
        present = self.present(service)  # syncs the arrays too
        out = np.empty(nodes.shape, dtype=np.int32)
        keys, counts, starts = self._keys, self._counts, self._starts
        if starts is None or (service.size and int(service.max()) >= starts.shape[0] - 1):
            starts = _NO_STARTS
        n_dom = self.n_domains
        count_pairs_loop(keys, counts, starts, n_dom, service, present, domain, nodes, out)
        return out

    def add(self, keys: I64) -> None:
        """Count one more replica for each key (duplicates add up); merges into the sorted table.

        One compiled merge into the spare buffers, which are then swapped in.
        """
        if keys.shape[0] == 0:
            return
        self._sync()
        self._starts = None
        m = self._keys.shape[0] + keys.shape[0]
        spare = self._spare
        if spare is None or spare[0].shape[0] < m:
            cap = m + m // 2
            spare = (np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int32))
        flags = self._present
        many = keys.shape[0] >= _RADIX_SORT_FROM  # a radix sort first then pays
        found, top = add_keys_jit(
            self._keys,
            self._counts,
            sort_keys(keys) if many else keys,
            many,
            self.n_domains,
            _NO_FLAGS if flags is None else flags,
            spare[0],
            spare[1],
        )
        old_keys, old_counts = self._keys, self._counts
        if old_keys.base is not None and old_counts.base is not None:
            self._spare = (old_keys.base, old_counts.base)
        else:
            self._spare = None
        self._keys, self._counts = spare[0][:found], spare[1][:found]
        if flags is not None and top > flags.shape[0]:  # services past the flags: grow, mark
            flags = self._grow_present(flags, top)
            flags[keys // self.n_domains] = True
        self._dict = None

    def get(self, key: int) -> int:
        """Scalar lookup (exact mode); backed by a dict built on first use."""
        d = self._dict
        return (d if d is not None else self._as_dict()).get(key, 0)

    def add_one(self, key: int) -> None:
        """Scalar add (exact mode); the arrays are rebuilt lazily on the next vector lookup."""
        d = self._as_dict()
        d[key] = d.get(key, 0) + 1
        self._stale = True
        self._starts = None

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
        self._present = None
        self._stale = False
