"""Work done once per key in this process, however many sessions ask for it at the same moment.

The web server runs every browser session's page script in its own thread, and reruns a page on
every click. Work that only the content of an upload decides (de-identifying and storing it,
classifying its files) is the same for every session and every rerun; :class:`OncePerKey` keeps
the results of the most recent keys and makes a caller that asks for a key being computed wait
for that computation instead of repeating it (eight threads doing the same work at once under the
interpreter lock take longer than one doing it eight times).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class OncePerKey:
    """Results remembered per key, the ``size`` most recently used ones; a failure is not
    remembered (the next caller tries again) but reaches every caller that waited for it."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._results: OrderedDict[Hashable, Future] = OrderedDict()

    def get(
        self,
        key: Hashable,
        compute: Callable[..., T],
        *args: Any,
        still_valid: Callable[[T], bool] = lambda result: True,
    ) -> T:
        """``compute(*args)``'s result under ``key``: a remembered one while ``still_valid`` says
        it holds (e.g. the folder it names still exists), else computed now, once for all the
        callers asking meanwhile."""
        with self._lock:
            future = self._results.get(key)
            if future is not None and future.done():
                if future.exception() is None and still_valid(future.result()):
                    self._results.move_to_end(key)
                    return future.result()
                future = None
            mine = future is None
            if mine:
                future = self._results[key] = Future()
                while len(self._results) > self.size:
                    self._results.popitem(last=False)
        if not mine:
            return future.result()
        try:
            future.set_result(compute(*args))
        except BaseException as error:
            future.set_exception(error)
            with self._lock:
                if self._results.get(key) is future:
                    del self._results[key]
            raise
        return future.result()

    def clear(self) -> None:
        """Forget every remembered result (computations under way finish for their callers)."""
        with self._lock:
            self._results.clear()
