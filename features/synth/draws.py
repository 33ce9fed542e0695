"""Small vectorised drawing and expansion helpers shared by the simulation's processes."""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def pick(rng, values, n, p=None):
    """``n`` draws from a small vocabulary, as a string array."""
    values = np.asarray(values)
    if p is not None:
        p = np.asarray(p, dtype=float) / np.sum(p)
    return values[rng.choice(len(values), size=n, p=p)]


def segments(lengths):
    """For segments of the given lengths laid end to end: (segment of each slot, position in its segment)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    seg = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return seg, np.arange(len(seg)) - starts[seg]


def random_id_values(rng, n, digits):
    """``n`` distinct random integers below ``16**digits``: ids that carry no order."""
    high = np.uint64(1) << np.uint64(4 * digits)
    values = rng.integers(0, high, size=n, dtype=np.uint64)
    while True:
        _, first = np.unique(values, return_index=True)
        if len(first) == n:
            return values
        clash = np.ones(n, dtype=bool)
        clash[first] = False
        values[clash] = rng.integers(0, high, size=int(clash.sum()), dtype=np.uint64)


def weekly_episodes(begin_w, length):
    """Expand episodes to rows: (episode, week, weeks since the episode began)."""
    ep, j = segments(length)
    return ep, begin_w[ep] + j, j
