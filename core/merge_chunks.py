"""How a remote merge is cut into chunks that each hold the write lock for a bounded time.

The merge's gestures come as runs (one scope's gestures in total order; the orphans; the
duplicates). A chunk (one transaction) merges pieces of runs one after another while its time
budget lasts: a piece is the rest of a run, or as much of it as the budget left is predicted to
allow. A piece's cost is learnt as the merge goes, because it depends on its scope (the state and
projection written once per piece, a refold) more than on its number of gestures. A piece that
re-folds its scope from the log is folded before the chunk takes the lock (core.library_merge).
"""
from __future__ import annotations

from typing import Generic, Iterable, Sequence, TypeVar

K = TypeVar("K")
T = TypeVar("T")

# A chunk starts a piece only while it is predicted to end within this budget, so a local apply
# waiting for the lock waits about this long at most (the goal is 50 ms: this leaves room for a
# garbage collection or a busy machine).
CHUNK_BUDGET_S = 0.02
FIRST_PIECE = 8  # before any piece of this merge was timed
# A rest of a run smaller than this waits for the next chunk instead: a piece writes its scope's
# state and projection, which a handful of gestures would not repay.
MIN_PIECE = 8


class PieceCost:
    """A piece's time predicted as ``fixed + per_gesture * n``: least squares over the pieces timed
    so far, recent pieces weighing more (the costs drift from one scope to the next)."""

    DECAY = 0.7

    def __init__(self) -> None:
        self._w = self._n = self._nn = self._t = self._nt = 0.0  # decayed sums of 1, n, n², t, n·t

    def learn(self, n: int, took: float) -> None:
        d = self.DECAY
        self._w = self._w * d + 1
        self._n = self._n * d + n
        self._nn = self._nn * d + n * n
        self._t = self._t * d + took
        self._nt = self._nt * d + n * took

    def _line(self) -> tuple[float, float] | None:
        if self._w == 0:
            return None
        spread = self._w * self._nn - self._n ** 2  # weighted variance of n, times w²
        if spread > self._w ** 2:  # pieces of different sizes: fixed and per-gesture parts apart
            per = (self._w * self._nt - self._n * self._t) / spread
            fixed = (self._t - per * self._n) / self._w
            if per > 0 and fixed >= 0:
                return fixed, per
        return 0.0, self._t / max(self._n, 1.0)  # pieces alike so far: all of it per gesture

    def predict(self, n: int) -> float:
        line = self._line()
        if line is None:
            return 0.0
        return line[0] + line[1] * n

    def fits(self, budget: float) -> int:
        """How many gestures a piece may hold to end within ``budget`` seconds."""
        line = self._line()
        if line is None:
            return FIRST_PIECE
        fixed, per = line
        return max(0, int((budget - fixed) / max(per, 1e-9)))


class Runs(Generic[K, T]):
    """The merge's runs, each under its key (a scope), handed out front to back in pieces."""

    def __init__(self, runs: Iterable[tuple[K, Sequence[T]]]) -> None:
        self._runs = [(key, list(items)) for key, items in runs if items]
        self._run = 0
        self._at = 0

    @property
    def done(self) -> bool:
        return self._run >= len(self._runs)

    def key(self) -> K:
        return self._runs[self._run][0]

    def rest(self) -> int:
        """What is left of the current run."""
        return len(self._runs[self._run][1]) - self._at

    def peek(self, n: int) -> list[T]:
        """The next ``n`` items of the current run (``n`` <= ``rest()``)."""
        return self._runs[self._run][1][self._at:self._at + n]

    def take(self, n: int) -> list[T]:
        piece = self.peek(n)
        self._at += n
        if self._at >= len(self._runs[self._run][1]):
            self._run, self._at = self._run + 1, 0
        return piece


def next_piece(cost: PieceCost, rest: int, left: float, started: bool) -> int:
    """How many of a run's ``rest`` gestures to merge now with ``left`` seconds of the chunk's budget;
    0 closes the chunk (``started``: it merged something already, so it lets a waiting apply in)."""
    if not started:  # a fresh chunk always makes progress, however big the piece is predicted
        return min(rest, max(cost.fits(left), MIN_PIECE))
    if cost.predict(rest) > left and cost.predict(rest) <= CHUNK_BUDGET_S:
        return 0  # the whole rest fits a fresh chunk: one piece there, not two
    n = min(rest, cost.fits(left))
    return n if n >= min(rest, MIN_PIECE) else 0
