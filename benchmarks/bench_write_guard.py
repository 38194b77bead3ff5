"""Cost of the domain-write guard on bookkeeping transactions, side by side in one run.

    python -m benchmarks.bench_write_guard [--rounds 2000] [--repeat 5]

Each round is what an export job's progress report does: read the job row and update it.

  isolated     all rounds inside ONE write transaction, on the guarded bookkeeping pool or on the
               unguarded apply pool: the guard's own CPU cost, with no commit in the way
  end_to_end   one write transaction per round, ``Library.transaction()`` (guarded) against the
               same transaction on the unguarded pool: what a caller sees, commit included

Read the ratios, not the absolute figures (the machine is shared); best of ``--repeat``,
variants interleaved in alternating order so noise and WAL growth hit both alike.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import Connection

from core.export.job_table import JobTable
from core.library import Library
from tests.fixtures.library import seed_clip

Opener = Callable[[], AbstractContextManager[Connection]]


def _report(conn: Connection, uid: str, i: int, rounds: int) -> None:
    JobTable._row(conn, uid)
    JobTable._write(conn, uid, progress=i / rounds, stage="rendering")


def _isolated(open_tx: Opener, uid: str, rounds: int) -> float:
    with open_tx() as conn:
        start = time.perf_counter()
        for i in range(rounds):
            _report(conn, uid, i, rounds)
        return time.perf_counter() - start


def _end_to_end(open_tx: Opener, uid: str, rounds: int) -> float:
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
            unguarded: Opener = library._write  # the apply path's pool, same lock and transaction shape
            variants = [("unguarded", unguarded), ("guarded", library.transaction)]
            for r in range(args.repeat):
                for kind, measure in (("isolated", _isolated), ("end_to_end", _end_to_end)):
                    for name, open_tx in variants if r % 2 == 0 else variants[::-1]:  # neither always 2nd
                        keep(f"{kind} {name}", measure(open_tx, uid, args.rounds))
        finally:
            library.close()
    for name, seconds in best.items():
        print(f"{name:>22}: {seconds / args.rounds * 1e6:8.1f} µs per round ({args.rounds} rounds)")
    for kind in ("isolated", "end_to_end"):
        print(f"{kind:>22}: guarded / unguarded = {best[f'{kind} guarded'] / best[f'{kind} unguarded']:.3f}")


if __name__ == "__main__":
    main()
