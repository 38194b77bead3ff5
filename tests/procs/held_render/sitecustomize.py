"""Test-only: with this folder on PYTHONPATH, an export worker (``python -m core.export.worker``)
renders and reports its first frames, then holds until it is cancelled (the line ``cancel`` on
stdin, stdin closing, SIGTERM) or killed, or until the file named by REELDESK_TEST_RELEASE exists (then
it finishes normally). A render to interrupt is then slow by construction,
however fast the machine: the tests wait on the job's state, never on a race with the encoder.
The hold sits in the worker's progress emitter, which every render path reports through.
"""
import os
import sys

if sys.argv[:1] == ["-m"]:  # python -m core.export.worker ... (sys.argv[0] is "-m" until runpy runs)
    import core.export.worker as _worker

    _real_emit = _worker._Emitter.__call__

    def _held_emit(self, event, **fields):
        _real_emit(self, event, **fields)
        if event == "progress" and fields.get("state") == "rendering" and fields.get("frames_done"):
            release = os.environ.get("REELDESK_TEST_RELEASE")
            # the worker's own cancel Event; a release file (polled: it comes from the test)
            while not (release and os.path.exists(release)):
                if self._cancel.wait(0.05 if release else None):
                    break

    _worker._Emitter.__call__ = _held_emit
