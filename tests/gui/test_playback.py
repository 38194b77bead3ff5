"""Playback on real generated footage: the worker engine plays without any audio device, pauses at
once on the picture shown, steps exact frames both ways, serves the newest of a burst of seeks,
shuttles backwards, stops at the range end; the program track plays the reel's output.

Every wait is on a signal or a condition with a generous bound; nothing here depends on how fast
the machine is (a loaded machine drops frames, which the assertions allow).
"""
from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from core.editmath import frame_index
from core.export.build import build_spec
from core.export.program import ProgramPreview
from core.library import Library
from desktop.ui import audio_out
from desktop.ui.playback import SHUTTLE_RATES, Playback
from tests.fixtures.media import make_video, read_frame_number

FPS = Fraction(30)
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s, 30 fps, keyframe every second, with a sound track."""
    return make_video(tmp_path_factory.mktemp("playback") / "game.mp4", width=320, height=240, fps=FPS,
                      seconds=4.0, audio=True)


def image_rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


class Recorder:
    """Frame numbers of the source pictures shown, in order."""

    def __init__(self, playback: Playback) -> None:
        self.numbers: list[int] = []
        playback.frameReady.connect(lambda image: self.numbers.append(read_frame_number(image_rgb(image))))


@pytest.fixture
def playback(qtbot, game: Path) -> Iterator[Playback]:
    pb = Playback()
    pb.set_media(game, FPS, 4.0)
    yield pb
    pb.close()


def shown_after(qtbot, playback: Playback, action) -> int:
    with qtbot.waitSignal(playback.frameReady, timeout=WAIT_MS) as blocker:
        action()
    return read_frame_number(image_rgb(blocker.args[0]))


def test_plays_without_an_audio_device(qtbot, playback: Playback, monkeypatch) -> None:
    monkeypatch.setattr(audio_out, "output_device", lambda: None)  # this machine may have one
    rec = Recorder(playback)
    shown_after(qtbot, playback, lambda: playback.seek(0.5))
    playback.play()
    assert playback.playing and not playback._audio.playing  # silent: the monotonic clock runs
    qtbot.waitUntil(lambda: len(rec.numbers) >= 12, timeout=WAIT_MS)
    played = rec.numbers[1:]
    assert played == sorted(played) and len(set(played)) == len(played)  # forward, no repeats
    assert played[-1] > 15 and playback.position > 0.5


def test_pause_stops_at_once_on_the_picture_shown(qtbot, playback: Playback) -> None:
    rec = Recorder(playback)
    playback.seek(0.0)
    playback.play()
    qtbot.waitUntil(lambda: len(rec.numbers) >= 6, timeout=WAIT_MS)
    playback.pause()
    assert not playback.playing
    on_screen = rec.numbers[-1]
    assert playback.position == pytest.approx(on_screen / 30)
    del rec.numbers[:]
    # The next picture is the stepped one: nothing queued by playing shows after the pause.
    assert shown_after(qtbot, playback, lambda: playback.step(1)) == on_screen + 1
    assert rec.numbers == [on_screen + 1]


def test_frame_step_is_exact_both_ways(qtbot, playback: Playback) -> None:
    assert shown_after(qtbot, playback, lambda: playback.seek(1.0)) == 30
    expected = 30
    for frames in (1, 1, -1, -3, -1, 5, -10, 1):
        expected += frames
        assert shown_after(qtbot, playback, lambda f=frames: playback.step(f)) == expected
        assert playback.position == pytest.approx(expected / 30)


def test_scrubbing_shows_the_newest_request(qtbot, playback: Playback) -> None:
    rec = Recorder(playback)
    shown_after(qtbot, playback, lambda: playback.seek(0.0))
    del rec.numbers[:]
    burst = [3.5, 0.2, 2.9, 1.1, 3.3, 0.7, 2.2]
    for t in burst:
        playback.seek(t)
    last = frame_index(2.2 + 1e-9, FPS)
    qtbot.waitUntil(lambda: bool(rec.numbers) and rec.numbers[-1] == last, timeout=WAIT_MS)
    # Served in order: an older request's picture never lands after the newest one.
    assert shown_after(qtbot, playback, lambda: playback.step(1)) == last + 1
    assert rec.numbers[-2:] == [last, last + 1]


def test_shuttle_backwards_and_rates(qtbot, playback: Playback) -> None:
    rec = Recorder(playback)
    shown_after(qtbot, playback, lambda: playback.seek(3.0))
    del rec.numbers[:]
    playback.shuttle_backward()
    assert playback.playing and playback.rate == 1.0
    qtbot.waitUntil(lambda: len(rec.numbers) >= 4, timeout=WAIT_MS)
    playback.shuttle_stop()
    assert rec.numbers == sorted(rec.numbers, reverse=True) and rec.numbers[-1] < 90
    rates = []
    for _ in range(4):
        playback.shuttle_forward()
        rates.append(playback.rate)
    assert rates == [1.0, 2.0, 4.0, 4.0] and SHUTTLE_RATES[-1] == 4.0
    playback.shuttle_backward()
    assert playback.rate == 1.0  # direction change starts again at 1x
    playback.shuttle_stop()
    assert not playback.playing and playback.rate == 1.0


def test_play_stops_at_the_end_of_the_clip_range(qtbot, playback: Playback) -> None:
    rec = Recorder(playback)
    playback.set_range((1.0, 1.4))
    shown_after(qtbot, playback, lambda: playback.seek(1.0))
    with qtbot.waitSignal(playback.playingChanged, timeout=WAIT_MS, check_params_cb=lambda on: not on):
        playback.play()
    assert playback.position == pytest.approx(1.4)
    qtbot.waitUntil(lambda: rec.numbers[-1] == 42, timeout=WAIT_MS)
    assert max(rec.numbers) == 42


def test_program_track_shows_the_reels_output_frames(qtbot, library: Library, tmp_path: Path) -> None:
    from tests.test_program_preview import mae, seed_reel

    source = make_video(tmp_path / "game.mp4", width=640, height=360, fps=FPS, seconds=3.0, audio=False)
    project = seed_reel(library, source)
    spec = build_spec(library, project)
    pb = Playback()
    try:
        pb.set_display_size(270, 480)
        pb.set_program(lambda: ProgramPreview(spec, library.media_path, 270), spec.output.fps,
                       spec.output_duration)
        with qtbot.waitSignal(pb.programFrameReady, timeout=WAIT_MS) as got:
            pb.program_seek(1.7)
        assert pb.program_active and pb.program_position == pytest.approx(51 / 30)
        reference = ProgramPreview(spec, library.media_path, 270)
        try:
            assert mae(image_rgb(got.args[0]), reference.rgb_at(1.7)) == 0.0
            with qtbot.waitSignal(pb.programFrameReady, timeout=WAIT_MS) as got:
                pb.step(-1)
            assert pb.program_position == pytest.approx(50 / 30)
            assert mae(image_rgb(got.args[0]), reference.rgb_at(50 / 30)) == 0.0
        finally:
            reference.close()
        frames: list[QImage] = []
        pb.programFrameReady.connect(frames.append)
        with qtbot.waitSignal(pb.playingChanged, timeout=WAIT_MS, check_params_cb=lambda on: not on):
            pb.play()  # plays through the slow segment and the dissolve to the end of the reel
        assert frames and pb.program_position == pytest.approx(119 / 30)
        # A media seek (the timeline, a panel) hands the transport back to the source.
        with qtbot.waitSignal(pb.programChanged, timeout=WAIT_MS, check_params_cb=lambda on: not on):
            pb.seek(0.0)
        assert not pb.program_active
    finally:
        pb.close()


def test_sound_starts_at_the_playhead_and_keeps_time_when_sped_up(game: Path) -> None:
    """The fixture clicks at every whole second: from 0.5 s the first click is 0.5 s in; at 2x
    it is 0.25 s in and the sound is half as long (tempo, not a resample)."""
    from tests.fixtures.media import CLICK_AMPLITUDE

    def clicks(rate: float) -> tuple[float, int]:
        pcm = np.concatenate(list(audio_out.media_sound(game)(0.5, rate)))[:, 0] / 32767
        loud = np.flatnonzero(np.abs(pcm) > (CLICK_AMPLITUDE + 0.25) / 2)
        return loud[0] / audio_out.RATE, len(pcm)

    first, n = clicks(1.0)
    assert first == pytest.approx(0.5, abs=0.01) and n == pytest.approx(3.5 * 48_000, rel=0.02)
    first, n2 = clicks(2.0)
    assert first == pytest.approx(0.25, abs=0.02) and n2 == pytest.approx(n / 2, rel=0.03)


def test_sound_is_muted_below_half_speed_and_backwards(qtbot, game: Path) -> None:
    from desktop.ui.player_engine import Clock

    out = audio_out.AudioOut()
    sound = audio_out.media_sound(game)
    for rate in (0.25, -1.0, 8.0):
        assert not out.start(Clock(), sound, 0.0, rate) and not out.playing
    out.stop()


def test_the_audio_output_is_found_before_the_first_play(qtbot, monkeypatch) -> None:
    """Finding the sound device loads QtMultimedia and connects to the sound server (tens of ms,
    100+ on a slow laptop): done soon after the player is made, it is not a stall when Space
    is first pressed."""
    looked: list[bool] = []
    monkeypatch.setattr(audio_out, "output_device", lambda: looked.append(True))
    pb = Playback()
    try:
        qtbot.waitUntil(lambda: bool(looked), timeout=WAIT_MS)
    finally:
        pb.close()
