"""The local export backend: each job renders in a child process (``core.export.worker``).

A child keeps the app responsive (no GIL contention with the UI) and survives nothing it should
not: a crash of the renderer fails the job with a clear message and leaves the app running.
Children are plain ``subprocess.Popen`` of a fresh interpreter (no fork), so the same code works
on Windows; FFmpeg comes from the PyAV wheels. A background thread per running job reads the
child's JSON lines and writes progress into the job row; jobs run one at a time (a render uses
every core), the rest wait queued.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.enums import JobState

if TYPE_CHECKING:
    from core.export.backend import JobStore

__all__ = ["WORKER_FLAG", "LocalBackend", "worker_command"]

log = logging.getLogger(__name__)

# A frozen app (PyInstaller) has no ``-m``: its entry point diverts this flag to the worker.
WORKER_FLAG = "--export-worker"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding ``core``
_REPORT_EVERY_S = 0.25  # row updates per job: enough for a smooth bar, little write load
_STOP_GRACE_S = 5.0
_STDERR_LINES = 20

_STATES = {"preparing": JobState.PREPARING, "rendering": JobState.RENDERING,
           "finishing": JobState.FINISHING}


def worker_command(job_uid: str, library_root: Path) -> list[str]:
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        # The windowed ReelDesk.exe has no standard streams on Windows; its console twin in the
        # same folder reports progress on stdout (installer/reeldesk.spec builds both).
        twin = exe.with_name("reeldesk-cli" + exe.suffix)
        return [str(twin if twin.exists() else exe), WORKER_FLAG, job_uid, "--library", str(library_root)]
    return [sys.executable, "-m", "core.export.worker", job_uid, "--library", str(library_root)]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    if not getattr(sys, "frozen", False):
        # The child must import this very ``core``, whatever the app's working folder is.
        parts = [str(_PACKAGE_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _exit_text(code: int) -> str:
    if code < 0:
        return f"killed by signal {-code}"
    if code > 255:  # Windows NTSTATUS, e.g. 0xC0000005 access violation
        return f"exit code 0x{code & 0xFFFFFFFF:08X}"
    return f"exit code {code}"


@dataclass
class _Run:
    uid: str
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    proc: subprocess.Popen[str] | None = None
    done: dict[str, Any] | None = None
    error: str | None = None
    worker_cancelled: bool = False
    stderr: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_STDERR_LINES))


class LocalBackend:
    def __init__(self, *, max_parallel: int = 1, poll_s: float = 0.25) -> None:
        self._jobs: JobStore | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._runs: dict[str, _Run] = {}
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._max_parallel = max(1, max_parallel)
        self._poll_s = poll_s
        self._closing = threading.Event()

    def bind(self, jobs: JobStore) -> None:
        self._jobs = jobs

    @property
    def jobs(self) -> JobStore:
        assert self._jobs is not None, "LocalBackend is not bound to a job store"
        return self._jobs

    # -- API used by the job store (ExportJobs) -----------------------------------------------
    def start(self, uid: str) -> None:
        if self._closing.is_set():
            raise RuntimeError("the export runner is shut down")
        with self._lock:
            if uid in self._queued or uid in self._runs:
                return
            self._queued.add(uid)
            if len(self._threads) < self._max_parallel:
                t = threading.Thread(target=self._dispatch, name=f"export-local-{len(self._threads)}",
                                     daemon=True)
                self._threads.append(t)
                t.start()
        self._queue.put(uid)

    def owns(self, uid: str) -> bool:
        with self._lock:
            return uid in self._queued or uid in self._runs

    def cancel(self, uid: str, timeout: float = 15.0) -> bool:
        """Stop the job's child (if it runs here) and wait for its clean-up. True if it was ours."""
        with self._lock:
            run = self._runs.get(uid)
            queued = uid in self._queued
        if run is None:
            return queued  # still waiting: the dispatcher skips it (its claim fails)
        run.cancel.set()
        run.finished.wait(timeout)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop every child; their jobs go back to queued (restarted at the next start-up)."""
        self._closing.set()
        with self._lock:
            runs = list(self._runs.values())
            self._queued.clear()
        for run in runs:
            run.cancel.set()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for run in runs:
            run.finished.wait(max(0.0, deadline - time.monotonic()))

    # -- the dispatcher -----------------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            uid = self._queue.get()
            if uid is None or self._closing.is_set():
                return
            run = _Run(uid)
            with self._lock:
                if uid not in self._queued:
                    continue
                self._queued.discard(uid)
                self._runs[uid] = run
            try:
                self._run(run)
            except Exception as exc:  # never let one job kill the dispatcher
                log.exception("export job %s: unexpected error in the local backend", uid)
                try:
                    self.jobs.fail(uid, f"unexpected error in the export runner: "
                                        f"{type(exc).__name__}: {exc}")
                except Exception:
                    log.exception("could not record the failure of export job %s", uid)
            finally:
                with self._lock:
                    self._runs.pop(uid, None)
                run.finished.set()

    def _run(self, run: _Run) -> None:
        jobs = self.jobs
        uid = run.uid
        if not jobs.claim(uid, stage="starting the renderer"):
            log.info("export job %s: not queued any more (cancelled, or another process took it)", uid)
            return
        job = jobs.get(uid)
        staged = jobs.staging_path(job)
        cmd = worker_command(uid, jobs.library.root)
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, encoding="utf-8", errors="replace", bufsize=1, env=_child_env(),
                close_fds=True, creationflags=flags,
            )
        except OSError as exc:
            jobs.fail(uid, f"cannot start the export worker: {exc}")
            return
        run.proc = proc
        log.info("export job %s: worker pid %d", uid, proc.pid)
        readers = [
            threading.Thread(target=self._read_stdout, args=(run, proc), daemon=True,
                             name=f"export-out-{uid[:8]}"),
            threading.Thread(target=self._read_stderr, args=(run, proc), daemon=True,
                             name=f"export-err-{uid[:8]}"),
        ]
        for t in readers:
            t.start()
        if not jobs.set_fields(uid, worker_pid=proc.pid):
            run.cancel.set()  # cancelled while the child started
        self._watch(run, proc)
        self._close_stdin(proc)
        for t in readers:
            t.join(timeout=5.0)
        self._conclude(run, proc, staged)

    def _watch(self, run: _Run, proc: subprocess.Popen[str]) -> None:
        """Until the child exits: notice cancel (here, or in the row by another process) and
        app shutdown, then stop the child gracefully (its render deletes its partial file)."""
        next_check = time.monotonic() + 0.5
        while proc.poll() is None:
            if run.cancel.wait(self._poll_s):
                break
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + 0.5
                try:
                    if self.jobs.get(run.uid).state.finished:
                        run.cancel.set()
                        break
                except Exception:  # a busy database must not stop the render
                    log.debug("export job %s: state check failed", run.uid, exc_info=True)
        if proc.poll() is None:
            self._stop(proc)

    @staticmethod
    def _close_stdin(proc: subprocess.Popen[str]) -> None:
        """Our end of the cancel pipe; after the child exits (or was told to stop) nothing more
        is sent, and leaving it open leaks a file handle per export."""
        try:
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()
        except (OSError, ValueError):  # the child is gone: the buffered nothing cannot be flushed
            pass

    @classmethod
    def _stop(cls, proc: subprocess.Popen[str]) -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.write("cancel\n")
        except (OSError, ValueError):
            pass
        cls._close_stdin(proc)
        try:
            proc.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("export worker %d did not stop in %.0f s; killing it", proc.pid, _STOP_GRACE_S)
            proc.kill()
            proc.wait()

    def _read_stdout(self, run: _Run, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        last_report = 0.0
        last_state: str | None = None
        for line in proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
                event = msg["event"]
            except (ValueError, KeyError, TypeError):
                log.debug("export worker said: %s", line)
                continue
            if event == "progress":
                state = msg.get("state")
                now = time.monotonic()
                if state == last_state and now - last_report < _REPORT_EVERY_S:
                    continue
                last_report, last_state = now, state
                self._report(run, msg)
            elif event == "done":
                run.done = msg
            elif event == "error":
                run.error = str(msg.get("message") or "the render failed")
            elif event == "cancelled":
                run.worker_cancelled = True
        proc.stdout.close()

    def _report(self, run: _Run, msg: dict[str, Any]) -> None:
        state = _STATES.get(str(msg.get("state")))
        done, total = msg.get("frames_done") or 0, msg.get("frames_total") or 0
        if state is JobState.RENDERING and total:
            stage = f"rendering frame {done} of {total}"
        elif state is JobState.FINISHING:
            stage = "writing the file"
        else:
            stage = "opening the sources"
        try:
            if not self.jobs.report(run.uid, state=state, fraction=msg.get("fraction"), stage=stage,
                                    eta_s=msg.get("eta_s")):
                run.cancel.set()  # cancelled or failed meanwhile
        except Exception:
            log.debug("export job %s: progress update failed", run.uid, exc_info=True)

    @staticmethod
    def _read_stderr(run: _Run, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            text = line.rstrip()
            if text:
                run.stderr.append(text)
                log.debug("export worker %d: %s", proc.pid, text)
        proc.stderr.close()

    def _conclude(self, run: _Run, proc: subprocess.Popen[str], staged: Path) -> None:
        jobs = self.jobs
        uid = run.uid
        code = proc.wait()
        job = jobs.get(uid)
        if job.state.finished:  # cancelled (or failed) while it ran: leave nothing behind
            jobs.sweep(job)
            jobs.release(uid)
            return
        if self._closing.is_set():
            jobs.sweep(job)
            jobs.requeue(uid, "interrupted; restarts when ReelDesk starts again")
            return
        if run.done is not None and code == 0 and staged.is_file():
            try:
                jobs.finalize(uid, staged, duration=float(run.done.get("duration") or 0.0),
                              width=int(run.done.get("width") or 0),
                              height=int(run.done.get("height") or 0),
                              encoder=run.done.get("encoder"))
            except OSError as exc:
                jobs.sweep(job)
                jobs.fail(uid, f"cannot save the export: {exc}")
            return
        jobs.sweep(job)
        if run.error:
            jobs.fail(uid, run.error)
        elif run.worker_cancelled:
            jobs.fail(uid, "the export worker was stopped before it finished")
        else:
            last = run.stderr[-1] if run.stderr else "no error output"
            jobs.fail(uid, f"the export worker stopped unexpectedly ({_exit_text(code)}): {last}")
