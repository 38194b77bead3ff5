"""Cost of the domain-write guard on bookkeeping transactions, side by side in one run.

    python -m benchmarks.bench_write_guard [--rounds 2000] [--repeat 5]

Each round is what an export job's progress report does: read the job row and update it.

  isolated     all rounds inside ONE write transaction, each round with the guard installed and
               removed around it (``bookkeeping_only``) or without: the guard's own CPU cost
               (authorizer calls, statements compiled again), with no commit in the way
  end_to_end   one write transaction per round, ``Library.transaction()`` (guarded) against the
               same transaction without the guard: what a caller sees, commit included

Read the ratios, not the absolute figures (the machine is shared); best of ``--repeat``,
variants interleaved so noise hits both alike.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from sqlalchemy import Connection

from core.db.write_guard import bookkeeping_only
from core.export.job_table import JobTable
from core.library import Library
from tests.fixtures.library import seed_clip


def _report(conn: Connection, uid: str, i: int, rounds: int) -> None:
    JobTable._row(conn, uid)
    JobTable._write(conn, uid, progress=i / rounds, stage="rendering")


def _isolated(library: Library, uid: str, rounds: int, guarded: bool) -> float:
    with library._write() as conn:  # the unguarded transaction the guard wraps
        start = time.perf_counter()
        for i in range(rounds):
            with bookkeeping_only(conn) if guarded else nullcontext(conn):
                _report(conn, uid, i, rounds)
        return time.perf_counter() - start


def _end_to_end(open_tx: Callable[[], AbstractContextManager[Connection]], uid: str, rounds: int) -> float:
    start = time.perf_counter()
    for i in range(rounds):
        with open_tx() as conn:
            _report(conn, uid, i, rounds)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, float("inf")), seconds)

    with tempfile.TemporaryDirectory(prefix="bench-guard-") as tmp:
        library = Library(Path(tmp) / "lib")
        try:
            _raw, project, _wc = seed_clip(library)
            uid = JobTable(library).insert(project, backend="local", upscaler="none", spec_json="{}",
                                           output_path=None)
            for _ in range(args.repeat):
                keep("isolated unguarded", _isolated(library, uid, args.rounds, guarded=False))
                keep("isolated guarded", _isolated(library, uid, args.rounds, guarded=True))
                keep("end_to_end unguarded", _end_to_end(library._write, uid, args.rounds))
                keep("end_to_end guarded", _end_to_end(library.transaction, uid, args.rounds))
        finally:
            library.close()
    for name, seconds in best.items():
        print(f"{name:>22}: {seconds / args.rounds * 1e6:8.1f} µs per round ({args.rounds} rounds)")
    for kind in ("isolated", "end_to_end"):
        print(f"{kind:>22}: guarded / unguarded = {best[f'{kind} guarded'] / best[f'{kind} unguarded']:.3f}")


if __name__ == "__main__":
    main()
