# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The size-1, drop-oldest hand-over between the node's callbacks and its worker thread."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar('T')


class LatestSlot(Generic[T]):
    """
    A size-1, drop-oldest hand-over between producer callbacks and one worker thread.

    ``put`` replaces an item the worker has not taken yet and counts it in ``dropped``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has_item = False
        self._closed = False
        self.dropped = 0
        self.taken = 0

    def put(self, item: T) -> bool:
        """Store ``item``; True when it replaced an untaken one."""
        with self._cond:
            replaced = self._has_item
            self.dropped += int(replaced)
            self._item, self._has_item = item, True
            self._cond.notify()
            return replaced

    def get(self, timeout: float | None = None) -> T | None:
        """The newest item, waiting up to ``timeout`` seconds; None on timeout or close."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._has_item or self._closed, timeout):
                return None
            if not self._has_item:
                return None
            item, self._item, self._has_item = self._item, None, False
            self.taken += 1
            return item

    def close(self) -> None:
        """Wake the worker for shutdown; later ``get`` calls return None at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
