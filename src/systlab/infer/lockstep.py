"""Many independent per-dataset computations run in lock step, the fits they ask for answered in batches.

A computation that needs fits one after another, each depending on the last (the α-profiled interval of one grid
toy: a downhill walk over grid points, parabolas in μ, a secant on √q), is written once, for one dataset. To run
a thousand of them at the batch engine's speed, each runs in its own thread and asks for its fits through
:meth:`LockStep.request`, which blocks; when every computation is blocked or done, the pending requests are
answered together by one call of ``evaluate`` (e.g. one :class:`systlab.likelihood.batched.BatchedLikelihood`
minimisation per grid point). Threads here are coroutines, not parallelism: only one runs Python at a time, the
batch runs while all wait. A computation's result does not depend on the others beside it as long as ``evaluate``
answers each request independently of the others in its batch (the batch engine does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Slot:
    __slots__ = ("payloads", "results", "error", "ready")

    def __init__(self, payloads: list[Any]) -> None:
        self.payloads, self.results, self.error = payloads, None, None
        self.ready = threading.Event()


class LockStep:
    """Runs ``task(item)`` for every item in its own thread; ``evaluate(payloads) -> answers`` serves the requests.

    ``rounds`` counts the batches answered.
    """

    def __init__(self, evaluate: Callable[[list[Any]], Sequence[Any]]) -> None:
        self.evaluate = evaluate
        self._cv = threading.Condition()
        self._pending: list[_Slot] = []
        self._running = 0  # threads neither blocked on a request nor finished
        self.rounds = 0

    def request(self, payload: Any) -> Any:
        """Ask for one answer (from inside a task): blocks until the batch holding it has been evaluated."""
        return self.request_many([payload])[0]

    def request_many(self, payloads: Sequence[Any]) -> list[Any]:
        """Ask for several answers at once (e.g. a scan's fits at many points): they join the same batch."""
        slot = _Slot(list(payloads))
        with self._cv:
            self._pending.append(slot)
            self._running -= 1
            self._cv.notify()
        slot.ready.wait()
        if slot.error is not None:
            raise slot.error
        return slot.results

    def run(self, task: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[task(item) for item in items]``, the tasks in lock step; the first exception of a task is raised."""
        results: list[Any] = [None] * len(items)
        errors: list[BaseException] = []

        def worker(i: int, item: Any) -> None:
            try:
                results[i] = task(item)
            except BaseException as error:  # noqa: BLE001 (re-raised in the caller's thread)
                errors.append(error)
            finally:
                with self._cv:
                    self._running -= 1
                    self._cv.notify()

        with self._cv:
            self._running = len(items)
        threads = [threading.Thread(target=worker, args=(i, item), daemon=True) for i, item in enumerate(items)]
        for thread in threads:
            thread.start()
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._running == 0)
                batch, self._pending = self._pending, []
                if not batch:
                    break
                self._running = len(batch)
            self.rounds += 1
            payloads = [p for slot in batch for p in slot.payloads]
            try:
                answers = list(self.evaluate(payloads)) if payloads else []
                if len(answers) != len(payloads):
                    raise RuntimeError(f"evaluate gave {len(answers)} answers for {len(payloads)} requests")
            except BaseException as error:  # noqa: BLE001 (every waiting task gets it)
                for slot in batch:
                    slot.error = error
            else:
                first = 0
                for slot in batch:
                    slot.results, first = answers[first : first + len(slot.payloads)], first + len(slot.payloads)
            for slot in batch:
                slot.ready.set()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results
