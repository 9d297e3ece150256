"""The viewer's small thread-safe caches: least recently used first out, bounded by a total weight.

rows = LRU(6)                                         # at most 6 row groups
thumbs = LRU(64 << 20, weight=lambda v: len(v[0]))    # at most 64 MB of rendered images
rows.get(key, make) -> the cached value, or make() (called outside the lock) cached
"""

from __future__ import annotations

import threading
from collections import OrderedDict


def _one(value) -> int:
    return 1


class LRU:
    def __init__(self, limit: int, weight=_one):
        self.limit = limit
        self.weight = weight
        self.items: OrderedDict = OrderedDict()
        self.total = 0
        self.lock = threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            if key not in self.items:  # another thread may have made it meanwhile
                self.items[key] = value
                self.total += self.weight(value)
            while self.total > self.limit and self.items:
                _, old = self.items.popitem(last=False)
                self.total -= self.weight(old)
        return value
