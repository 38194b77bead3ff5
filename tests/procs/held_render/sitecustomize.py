"""Test-only: with this folder on PYTHONPATH, an export worker (``python -m core.export.worker``)
renders and reports its first frames, then holds until it is cancelled (the line ``cancel`` on
stdin, stdin closing, SIGTERM) or killed. A render to interrupt is then slow by construction,
however fast the machine: the tests wait on the job's state, never on a race with the encoder.
"""
import sys

if sys.argv[:1] == ["-m"]:  # python -m core.export.worker ... (sys.argv[0] is "-m" until runpy runs)
    import core.export.render as _render

    _real_render = _render.render

    def _held_render(spec, resolve_media, out_path, on_progress=None, cancelled=None, **kwargs):
        # The worker passes its cancel Event's bound ``is_set``: wait on that very Event.
        cancel_event = getattr(cancelled, "__self__")

        def progress(p):
            if on_progress is not None:
                on_progress(p)
            if p.stage == "rendering" and p.frames_done > 0:
                cancel_event.wait()

        return _real_render(spec, resolve_media, out_path, progress, cancelled, **kwargs)

    _render.render = _held_render
