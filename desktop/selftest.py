"""``reeldesk --self-test``: prove that an installation (the frozen bundle or a dev checkout) works.

Every layer a missing file would break is exercised once, end to end, in a temporary library:
Alembic migrations (package data), a generated 1-second H.264/AAC video imported through the import
service (PyAV, hashing), gestures (mark, project, add, crop keyframes, split, speed), an export
through ``render()`` (PyAV encoders + OpenCV) verified by decoding it, QtMultimedia's FFmpeg backend
loading that export, and the main window rendered to a PNG (Qt platform plugin, style sheet, icons).

Exit 0 when everything passed; otherwise one ``reeldesk self-test: FAILED ...`` line on stderr and
exit 1. Standalone on purpose: it must not need the tests package, which the bundle does not ship.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.redact import error_text

log = logging.getLogger(__name__)

PREFIX = "reeldesk self-test"
SOURCE_SIZE = (320, 240)
SOURCE_FPS = 30
SOURCE_SECONDS = 1.0
AUDIO_RATE = 48_000
EXPORT_SIZE = (180, 320)  # 9:16, small: the point is completeness, not quality
EXPORT_FPS = Fraction(30)
SPLIT_AT = 0.5
FAST_SPEED = 2.0  # the second segment plays at 2x: 0.5 s + 0.25 s of output
MEDIA_LOAD_TIMEOUT_MS = 15_000
SCREENSHOT_NAME = "selftest-window.png"


class SelfTestError(RuntimeError):
    """A check failed; the message says what was expected and what was found."""


def _out(text: str) -> None:
    # A windowed Windows exe has no console: sys.stdout may be None there.
    if sys.stdout is not None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _err(text: str) -> None:
    if sys.stderr is None:  # windowed exe: the log is all there is
        log.error("%s", text)
        return
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def choose_qt_platform(env: dict[str, str] | os._Environ[str] = os.environ, platform: str = sys.platform) -> None:
    """Offscreen unless a display exists. Windows and macOS always have one: the native plugin is
    then what gets tested (it is the one the bundle must ship). An explicit setting wins."""
    if env.get("QT_QPA_PLATFORM"):
        return
    if platform.startswith(("win", "darwin")):
        return
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env["QT_QPA_PLATFORM"] = "offscreen"


def app_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("reeldesk")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class _Context:
    work: Path
    keep: Path | None
    library: Any = None
    media_hash: str = ""
    project: str = ""
    working_clip: str = ""
    export: Path | None = None
    frames_expected: int = 0
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def files(self) -> Path:
        return self.keep if self.keep is not None else self.work


# -- steps -------------------------------------------------------------------------------------
def make_source_video(path: Path) -> Path:
    """A 1-second 320x240 30 fps H.264 + AAC MP4 with a moving box and a tone (PyAV encoders)."""
    import av
    import numpy as np

    width, height = SOURCE_SIZE
    frames = int(SOURCE_SECONDS * SOURCE_FPS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=SOURCE_FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "threads": "1"}
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "stereo"
        x = np.linspace(0, 255, width, dtype=np.uint8)
        for i in range(frames):
            rgb = np.zeros((height, width, 3), np.uint8)
            rgb[:, :, 0] = x[None, :]
            rgb[:, :, 2] = 96
            box = 8 * i
            rgb[100:140, box:box + 40] = (255, 255, 255)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, SOURCE_FPS)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        n = int(SOURCE_SECONDS * AUDIO_RATE)
        tone = (0.2 * np.sin(2 * np.pi * 440.0 * np.arange(n) / AUDIO_RATE)).astype(np.float32)
        stereo = np.stack([tone, tone])
        for start in range(0, n, 1024):
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo[:, start:start + 1024]),
                                               format="fltp", layout="stereo")
            chunk.sample_rate, chunk.pts, chunk.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))
    return path


def step_library(ctx: _Context) -> str:
    from core.library import Library

    ctx.library = Library(ctx.work / "Library")  # runs the Alembic migrations bundled with core.db
    verdict = ctx.library.integrity_check()
    if verdict != "ok":
        raise SelfTestError(f"SQLite integrity check says {verdict!r}")
    return f"migrated {ctx.library.root}"


def step_import(ctx: _Context) -> str:
    from core.media.importer import ImportService

    source = make_source_video(ctx.work / "input" / "self-test clip.mp4")
    (result,) = ImportService(ctx.library).import_paths([source])
    if not result.ok or result.media is None:
        raise SelfTestError(f"import of a generated video failed: {result.error or result.status.value}")
    ctx.media_hash = result.media
    info = ctx.library.media(result.media) or {}
    return f"media {result.media[:12]}…, {info.get('width')}x{info.get('height')}, {info.get('duration', 0):.2f} s"


def step_gestures(ctx: _Context) -> str:
    from core.enums import GestureKind as K
    from core.gestures.model import Gesture

    lib = ctx.library
    clip = lib.apply(Gesture(K.MARK_CLIP, None, {"media": ctx.media_hash, "start": 0.0, "end": SOURCE_SECONDS,
                                                 "rating": 5, "name": "self-test"})).entity
    ctx.project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Self-test reel", "aspect": "9:16"})).entity
    ctx.working_clip = lib.apply(Gesture(K.ADD_CLIP, ctx.project, {"raw_clip": clip})).created["working_clip"]
    crop_w, crop_h = SOURCE_SIZE[1] * 9 / 16, float(SOURCE_SIZE[1])  # the largest 9:16 box, full height
    for t, x in ((0.0, 0.0), (0.9, SOURCE_SIZE[0] - crop_w)):  # pan left to right
        lib.apply(Gesture(K.ADD_CROP_KEYFRAME, ctx.working_clip,
                          {"time": t, "x": x, "y": 0.0, "width": crop_w, "height": crop_h}))
    lib.apply(Gesture(K.SPLIT, ctx.working_clip, {"time": SPLIT_AT}))
    lib.apply(Gesture(K.SET_SEGMENT_SPEED, ctx.working_clip, {"time": 0.75, "speed": FAST_SPEED}))
    (doc,) = lib.show_project(ctx.project)["clips"]
    edit = doc["edit"]
    found = (len(edit["crop_keyframes"]), len(edit["splits"]))
    if found != (2, 1):
        raise SelfTestError(f"expected 2 crop keyframes and 1 split, the library has {found}")
    return f"project {ctx.project[:13]}…: 2 keyframes, 1 split, {FAST_SPEED:g}x, {doc['output_duration']:.2f} s"


def step_render(ctx: _Context) -> str:
    import av

    from core.export.build import build_spec
    from core.export.render import render

    spec = build_spec(ctx.library, ctx.project, size=EXPORT_SIZE, fps=EXPORT_FPS, preset="ultrafast")
    ctx.frames_expected = max(1, math.floor(spec.output_duration * EXPORT_FPS + 0.5))
    out = render(spec, ctx.library.media_path, ctx.files / "selftest-export.mp4")
    frames, sizes, audio_streams = 0, set(), 0
    with av.open(str(out)) as container:
        audio_streams = len(container.streams.audio)
        for frame in container.decode(video=0):
            frames += 1
            sizes.add((frame.width, frame.height))
    if sizes != {EXPORT_SIZE}:
        raise SelfTestError(f"export frames are {sorted(sizes)}, expected {EXPORT_SIZE}")
    if frames != ctx.frames_expected:
        raise SelfTestError(f"export has {frames} frames, expected {ctx.frames_expected}")
    if audio_streams != 1:
        raise SelfTestError(f"export has {audio_streams} audio streams, expected 1")
    ctx.export = out
    return f"{frames} frames {EXPORT_SIZE[0]}x{EXPORT_SIZE[1]} + AAC, {out.stat().st_size} bytes"


def step_window(ctx: _Context) -> str:
    from PySide6.QtGui import QImage

    from desktop.app import run_gui

    png = ctx.files / SCREENSHOT_NAME
    code = run_gui(ctx.library, screenshot=png, mode="frame", project=ctx.project)
    if code != 0:
        raise SelfTestError(f"the window exited with code {code}")
    image = QImage(str(png))
    if image.isNull() or image.width() < 200 or image.height() < 200:
        raise SelfTestError(f"the window screenshot {png} is missing or empty")
    from PySide6.QtGui import QGuiApplication

    where = f" at {png}" if ctx.keep is not None else ""  # the work folder is deleted at the end
    return f"{QGuiApplication.platformName()} platform, {image.width()}x{image.height()} PNG{where}"


def step_multimedia(ctx: _Context) -> str:
    """QtMultimedia's FFmpeg backend (a plugin the bundle must carry) loads the export."""
    from PySide6.QtCore import QEventLoop, QTimer, QUrl
    from PySide6.QtMultimedia import QMediaPlayer

    assert ctx.export is not None
    player = QMediaPlayer()
    loop = QEventLoop()
    done = {QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia,
            QMediaPlayer.MediaStatus.InvalidMedia}
    player.mediaStatusChanged.connect(lambda status: loop.quit() if status in done else None)
    player.errorOccurred.connect(lambda *_: loop.quit())
    QTimer.singleShot(MEDIA_LOAD_TIMEOUT_MS, loop.quit)
    player.setSource(QUrl.fromLocalFile(str(ctx.export)))
    if player.mediaStatus() not in done:
        loop.exec()
    status, error, duration = player.mediaStatus(), player.errorString(), player.duration()
    player.setSource(QUrl())
    player.deleteLater()
    if status not in (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia):
        raise SelfTestError(f"QtMultimedia could not load the export ({status.name}{': ' + error if error else ''})"
                            " — is the multimedia FFmpeg plugin in the bundle?")
    if duration <= 0:
        raise SelfTestError("QtMultimedia loaded the export but reports no duration")
    return f"QMediaPlayer loaded {duration} ms"


STEPS: list[tuple[str, Callable[[_Context], str]]] = [
    ("library", step_library),
    ("import", step_import),
    ("gestures", step_gestures),
    ("render", step_render),
    ("window", step_window),  # creates the QApplication (HiDPI policy first) the next step reuses
    ("multimedia", step_multimedia),
]


def _fail(stage: str, exc: BaseException) -> int:
    log.debug("self-test step %s failed", stage, exc_info=exc)
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" [{Path(tb[-1].filename).name}:{tb[-1].lineno}]" if tb and not isinstance(exc, SelfTestError) else ""
    _err(f"{PREFIX}: FAILED at {stage}: {error_text(exc)}{where}")
    if os.environ.get("REELDESK_SELFTEST_TRACEBACK"):
        _err("".join(traceback.format_exception(exc)))
    return 1


def run_self_test(keep: Path | None = None) -> int:
    """Run every check; ``keep`` is a folder that receives the export and the window PNG."""
    choose_qt_platform()
    started = time.monotonic()
    frozen = getattr(sys, "frozen", False)
    _out(f"{PREFIX}: ReelDesk {app_version()} ({'frozen bundle' if frozen else 'from source'}: "
         f"{Path(sys.executable).parent if frozen else Path(__file__).resolve().parent.parent}), "
         f"Python {sys.version.split()[0]}, {sys.platform}")
    try:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="reeldesk-selftest-"))
    except OSError as exc:
        return _fail("setup", exc)
    ctx = _Context(work=work, keep=keep)
    try:
        for name, step in STEPS:
            t0 = time.monotonic()
            try:
                detail = step(ctx)
            except Exception as exc:  # every failure becomes one clear line
                return _fail(name, exc)
            _out(f"{PREFIX}: ok   {name:<10} {time.monotonic() - t0:6.2f} s  {detail}")
    finally:
        if ctx.library is not None:
            ctx.library.close()
        shutil.rmtree(work, ignore_errors=True)  # Windows may still hold a file: never fail on it
    _out(f"{PREFIX}: passed in {time.monotonic() - started:.1f} s")
    return 0


__all__ = ["SelfTestError", "choose_qt_platform", "make_source_video", "run_self_test"]
