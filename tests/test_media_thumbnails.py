"""Thumbnail strips and waveform peaks: decoded back and checked by pixels and samples."""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from core.media import thumbnails as thumbnails_module
from core.media.errors import MediaError, MediaErrorKind, OperationCancelled
from core.media.thumbnails import ensure_thumbnails, generate_thumbnails, thumbnail_strip_path
from core.media.waveform import compute_peaks, ensure_peaks, load_peaks, peaks_path, save_peaks
from tests.fixtures.media import make_video, read_frame_number

MEDIA_HASH = "ab" * 32


def decode_jpeg(path: Path) -> np.ndarray:
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def expected_frame(t: float, fps: Fraction) -> int:
    """The first frame shown at or after t (timestamps are rounded to half a frame)."""
    return math.ceil(t * fps - Fraction(1, 2))


@pytest.mark.parametrize(
    ("name", "fps", "size"),
    [
        ("h30", Fraction(30), (120, 90)),
        ("ntsc", Fraction(30000, 1001), (120, 90)),
        ("p60", Fraction(60000, 1001), (120, 90)),
        ("pal", Fraction(25), (120, 90)),
        ("portrait", Fraction(30), (50, 90)),
    ],
)
def test_thumbnails_show_the_frame_at_each_time(video_set: dict[str, Path], tmp_path: Path, name: str,
                                                fps: Fraction, size: tuple[int, int]) -> None:
    paths = generate_thumbnails(video_set[name], tmp_path, every_s=0.5, height=90)
    assert [p.name for p in paths] == [f"thumb_{i:05d}.jpg" for i in range(4)]
    for index, path in enumerate(paths):
        rgb = decode_jpeg(path)
        assert (rgb.shape[1], rgb.shape[0]) == size
        assert read_frame_number(rgb) == expected_frame(index * 0.5, fps)
        assert path.stat().st_size < 20_000


def test_rotated_video_thumbnails_are_upright(video_set: dict[str, Path], tmp_path: Path) -> None:
    paths = generate_thumbnails(video_set["rotated"], tmp_path, every_s=1.0, height=90)
    rgb = decode_jpeg(paths[1])
    assert rgb.shape[:2] == (90, 68)  # 320x240 stored, shown as 240x320
    # Turned 90° clockwise for display, so the frame-number stripe now runs down the right edge.
    assert read_frame_number(np.rot90(rgb, k=1)) == 30


def test_keyframe_seeking_over_a_longer_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = make_video(tmp_path / "long.mp4", seconds=12.0, audio=False, fps=Fraction(25))  # keyframe every 1 s
    seeks: list[float] = []
    real_seek = thumbnails_module._Cursor._seek

    def counting_seek(self, t: float) -> None:  # type: ignore[no-untyped-def]
        seeks.append(t)
        real_seek(self, t)

    monkeypatch.setattr(thumbnails_module._Cursor, "_seek", counting_seek)
    paths = generate_thumbnails(video, tmp_path / "strip", every_s=2.5)
    assert [read_frame_number(decode_jpeg(p)) for p in paths] == [
        expected_frame(i * 2.5, Fraction(25)) for i in range(5)
    ]
    assert len(seeks) == 5  # targets further apart than keyframes: jump to each
    # Denser than the keyframes: decode forward from one seek instead of re-seeking; same answers.
    seeks.clear()
    dense = generate_thumbnails(video, tmp_path / "dense", every_s=0.2)
    assert [read_frame_number(decode_jpeg(p)) for p in dense] == [5 * i for i in range(60)]
    assert len(seeks) <= 2


def test_thumbnails_of_vfr_video(video_set: dict[str, Path], tmp_path: Path) -> None:
    # Frames sit at 0, 1, 2, 4, 5, 6, 8 … thirtieths: every third frame is held twice as long.
    paths = generate_thumbnails(video_set["vfr"], tmp_path, every_s=1.0)
    assert [read_frame_number(decode_jpeg(p)) for p in paths] == [0, 23]


def test_cancel_removes_written_thumbnails(video_set: dict[str, Path], tmp_path: Path) -> None:
    asked = {"n": 0}

    def cancelled() -> bool:
        asked["n"] += 1
        return asked["n"] > 2

    with pytest.raises(OperationCancelled):
        generate_thumbnails(video_set["h30"], tmp_path, every_s=0.25, cancelled=cancelled)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "kind"),
    [("text", MediaErrorKind.NOT_MEDIA), ("audio_only", MediaErrorKind.NO_VIDEO),
     ("empty", MediaErrorKind.NOT_MEDIA)],
)
def test_thumbnails_of_bad_input(video_set: dict[str, Path], tmp_path: Path, name: str,
                                 kind: MediaErrorKind) -> None:
    with pytest.raises(MediaError) as caught:
        generate_thumbnails(video_set[name], tmp_path)
    assert caught.value.kind is kind


def test_strip_cache_is_reused_and_regenerated_when_missing(video_set: dict[str, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = thumbnail_strip_path(tmp_path / "cache", MEDIA_HASH)
    assert folder == tmp_path / "cache" / "thumbnails" / MEDIA_HASH
    first = ensure_thumbnails(video_set["h30"], tmp_path / "cache", MEDIA_HASH, every_s=0.5)
    assert all(p.parent == folder for p in first) and len(first) == 4

    calls = {"n": 0}
    real = thumbnails_module.generate_thumbnails

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(thumbnails_module, "generate_thumbnails", counting)
    assert ensure_thumbnails(video_set["h30"], tmp_path / "cache", MEDIA_HASH, every_s=0.5) == first
    assert calls["n"] == 0
    first[2].unlink()
    assert ensure_thumbnails(video_set["h30"], tmp_path / "cache", MEDIA_HASH, every_s=0.5) == first
    assert calls["n"] == 1 and first[2].is_file()
    # Different spacing: regenerated, and no stale files from the old strip remain.
    coarse = ensure_thumbnails(video_set["h30"], tmp_path / "cache", MEDIA_HASH, every_s=1.0)
    assert calls["n"] == 2 and len(coarse) == 2
    assert sorted(p.name for p in folder.glob("*.jpg")) == [p.name for p in coarse]


# -- waveform ---------------------------------------------------------------------------------------

def test_peaks_show_the_clicks_on_whole_seconds(video_set: dict[str, Path]) -> None:
    peaks = compute_peaks(video_set["h30"], peaks_per_second=50)
    assert peaks.dtype == np.float32 and peaks.ndim == 1
    assert abs(peaks.size - 100) <= 2
    assert peaks.min() >= 0.0 and peaks.max() <= 1.0
    # 1 kHz clicks (0.9) in the first 10 ms of each second over a 0.25 sine: A/V sync is checkable.
    assert peaks[0] > 0.8 and peaks[50] > 0.8
    quiet = np.delete(peaks, [0, 1, 49, 50, 51])
    assert np.median(quiet) == pytest.approx(0.25, abs=0.03)
    assert quiet.max() < 0.5


def test_peaks_resolution(video_set: dict[str, Path]) -> None:
    peaks = compute_peaks(video_set["h30"], peaks_per_second=10)
    assert abs(peaks.size - 20) <= 1
    assert peaks[10] > 0.8


def test_peaks_without_audio_are_empty(video_set: dict[str, Path]) -> None:
    peaks = compute_peaks(video_set["noaudio"])
    assert peaks.shape == (0,) and peaks.dtype == np.float32


def test_peaks_of_audio_only_file(video_set: dict[str, Path]) -> None:
    assert abs(compute_peaks(video_set["audio_only"]).size - 50) <= 2


def test_peaks_bad_input(video_set: dict[str, Path]) -> None:
    with pytest.raises(MediaError):
        compute_peaks(video_set["text"])
    with pytest.raises(ValueError):
        compute_peaks(video_set["h30"], peaks_per_second=0)


def test_peaks_cache(video_set: dict[str, Path], tmp_path: Path) -> None:
    path = peaks_path(tmp_path / "cache", MEDIA_HASH)
    assert load_peaks(path) is None
    peaks = ensure_peaks(video_set["h30"], tmp_path / "cache", MEDIA_HASH)
    assert path.is_file()
    np.testing.assert_array_equal(load_peaks(path), peaks)
    save_peaks(path, np.array([0.5, 1.0], np.float32))
    np.testing.assert_array_equal(ensure_peaks(video_set["h30"], tmp_path / "cache", MEDIA_HASH), [0.5, 1.0])
    path.write_bytes(b"garbage")
    assert load_peaks(path) is None
    np.testing.assert_array_equal(ensure_peaks(video_set["h30"], tmp_path / "cache", MEDIA_HASH), peaks)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left
