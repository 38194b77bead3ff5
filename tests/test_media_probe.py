"""Probing real generated videos, content sniffing, folder expansion, and every bad input's message."""
from __future__ import annotations

import errno
import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import pytest

from core.media import probe as probe_module
from core.media.detect import Sniffed, iter_candidate_files, looks_like_video, sniff_bytes
from core.media.errors import MediaError, MediaErrorKind
from core.media.probe import MediaInfo, probe
from tests.fixtures.media import make_video, read_frame_number, truncate_file

GOOD = {
    # name: (fps, width, height, rotation, display_size, has_audio, vfr)
    "h30": (Fraction(30), 320, 240, 0, (320, 240), True, False),
    "ntsc": (Fraction(30000, 1001), 320, 240, 0, (320, 240), True, False),
    "p60": (Fraction(60000, 1001), 320, 240, 0, (320, 240), True, False),
    "pal": (Fraction(25), 320, 240, 0, (320, 240), True, False),
    "portrait": (Fraction(30), 180, 320, 0, (180, 320), True, False),
    "rotated": (Fraction(30), 320, 240, 90, (240, 320), True, False),
    "noaudio": (Fraction(30), 320, 240, 0, (320, 240), False, False),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_probe_reports_real_properties(video_set: dict[str, Path], name: str) -> None:
    fps, width, height, rotation, display, has_audio, vfr = GOOD[name]
    info = probe(video_set[name])
    assert info.fps == fps
    assert (info.fps_num, info.fps_den) == (fps.numerator, fps.denominator)
    assert (info.width, info.height) == (width, height)
    assert info.rotation == rotation
    assert info.display_size == display
    assert info.has_audio is has_audio
    assert info.audio_codec == ("aac" if has_audio else None)
    assert info.vfr is vfr
    assert info.video_codec == "h264"
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.size_bytes == video_set[name].stat().st_size
    assert "mp4" in info.container


def test_probe_detects_variable_frame_rate(video_set: dict[str, Path]) -> None:
    info = probe(video_set["vfr"])
    assert info.vfr is True
    assert 15 < float(info.fps) < 30  # an average of 30 fps with every third frame held twice


@pytest.mark.parametrize("name", ["h30", "ntsc", "p60", "pal", "portrait", "vfr"])
def test_every_decoded_frame_carries_its_number(video_set: dict[str, Path], name: str) -> None:
    with av.open(str(video_set[name])) as container:
        numbers = [read_frame_number(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    assert numbers == list(range(len(numbers)))
    if name != "vfr":
        assert len(numbers) == round(2.0 * probe(video_set[name]).fps)


def test_frame_n_decodes_to_n_after_a_seek(video_set: dict[str, Path]) -> None:
    target = 47
    fps = probe(video_set["ntsc"]).fps
    with av.open(str(video_set["ntsc"])) as container:
        stream = container.streams.video[0]
        container.seek(int(target / fps / stream.time_base), stream=stream, backward=True)
        frame = next(f for f in container.decode(stream) if f.time >= float(target / fps) - 1e-3)
        assert read_frame_number(frame.to_ndarray(format="rgb24")) == target


def test_pattern_pixels_locate_the_crop(video_set: dict[str, Path]) -> None:
    # Red grows left to right and green top to bottom, so a pixel tells where it came from.
    with av.open(str(video_set["h30"])) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert rgb[200, 300, 0] - rgb[200, 20, 0] > 200
    assert rgb[230, 160, 1] - rgb[40, 160, 1] > 150


def test_payload_round_trips_through_json(video_set: dict[str, Path]) -> None:
    info = probe(video_set["ntsc"])
    payload = json.loads(json.dumps(info.to_payload()))
    assert MediaInfo.from_payload(payload) == info
    assert MediaInfo.from_payload({**payload, "added_later": 1}) == info


@pytest.mark.parametrize(
    "change",
    [
        {"width": True},
        {"rotation": 45},
        {"duration": -1.0},
        {"duration": float("nan")},
        {"fps_den": 0},
        {"vfr": 1},
        {"has_audio": False},  # audio_codec still set
        {"video_codec": "x" * 500},
    ],
)
def test_payload_rejects_bad_values(video_set: dict[str, Path], change: dict) -> None:
    payload = {**probe(video_set["h30"]).to_payload(), **change}
    with pytest.raises(ValueError):
        MediaInfo.from_payload(payload)


def test_payload_rejects_missing_fields(video_set: dict[str, Path]) -> None:
    payload = probe(video_set["h30"]).to_payload()
    del payload["fps_num"]
    with pytest.raises(ValueError, match="fps_num"):
        MediaInfo.from_payload(payload)


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("empty", MediaErrorKind.EMPTY, "empty file (0 bytes)"),
        ("text", MediaErrorKind.NOT_MEDIA, "not a media file"),
        ("image", MediaErrorKind.IMAGE, "an image, not a video"),
        ("audio_only", MediaErrorKind.AUDIO_ONLY, "not a video: no video stream (audio only)"),
        ("truncated", MediaErrorKind.TRUNCATED, "truncated or damaged video (no index / moov atom)"),
    ],
)
def test_bad_inputs_get_clear_messages(video_set: dict[str, Path], name: str, kind: MediaErrorKind,
                                       message: str) -> None:
    with pytest.raises(MediaError) as caught:
        probe(video_set[name])
    assert caught.value.kind is kind
    assert caught.value.message == message
    assert caught.value.path == video_set[name]
    assert str(caught.value) == f"{video_set[name].name}: {message}"


def test_faststart_mp4_cut_short_is_truncated(tmp_path: Path) -> None:
    src = make_video(tmp_path / "src.mp4", seconds=3.0)
    faststart = tmp_path / "faststart.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-c", "copy",
         "-movflags", "+faststart", str(faststart)],
        check=True, capture_output=True, timeout=60,
    )
    truncate_file(faststart, 0.5)  # index intact, data missing
    with pytest.raises(MediaError) as caught:
        probe(faststart)
    assert caught.value.kind is MediaErrorKind.TRUNCATED


def test_png_renamed_to_mp4_is_still_an_image(video_set: dict[str, Path], tmp_path: Path) -> None:
    disguised = tmp_path / "holiday.mp4"
    shutil.copyfile(video_set["image"], disguised)
    with pytest.raises(MediaError, match="an image, not a video"):
        probe(disguised)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        probe(tmp_path / "gone.mp4")
    assert caught.value.kind is MediaErrorKind.NOT_FOUND
    with pytest.raises(MediaError) as caught:
        probe(tmp_path)
    assert caught.value.kind is MediaErrorKind.NOT_A_FILE


def test_nonascii_path_with_spaces(video_set: dict[str, Path], nonascii_dir: Path) -> None:
    copy = nonascii_dir / "Tor – Müller 決勝 1.mp4"
    shutil.copyfile(video_set["ntsc"], copy)
    assert probe(copy).fps == Fraction(30000, 1001)


def test_mkv_at_ntsc_rate_is_cfr(tmp_path: Path) -> None:
    # Matroska stores milliseconds, so 29.97 fps deltas alternate 33/34 ms: rounding, not VFR.
    info = probe(make_video(tmp_path / "clip.mkv", fps=Fraction(30000, 1001), seconds=2.0, audio=False))
    assert (info.fps, info.vfr) == (Fraction(30000, 1001), False)


def test_read_only_source_probes(video_set: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "ro.mp4"
    shutil.copyfile(video_set["h30"], copy)
    copy.chmod(0o444)
    try:
        assert probe(copy).fps == 30
    finally:
        copy.chmod(0o644)


def _raise_on_open(monkeypatch: pytest.MonkeyPatch, exc: OSError) -> None:
    def fake_read_head(path: Path, size: int = 4096) -> bytes:
        raise exc

    monkeypatch.setattr(probe_module, "read_head", fake_read_head)


def test_locked_file(video_set: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    exc = PermissionError(errno.EACCES, "The process cannot access the file")
    exc.winerror = 32  # what Windows reports for a file another program holds open
    _raise_on_open(monkeypatch, exc)
    with pytest.raises(MediaError) as caught:
        probe(video_set["h30"])
    assert caught.value.kind is MediaErrorKind.LOCKED
    assert "in use by another program" in caught.value.message


def test_permission_denied(video_set: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _raise_on_open(monkeypatch, PermissionError(errno.EACCES, "Permission denied"))
    with pytest.raises(MediaError) as caught:
        probe(video_set["h30"])
    assert caught.value.kind is MediaErrorKind.PERMISSION
    assert "permission denied" in caught.value.message


# -- sniffing ---------------------------------------------------------------------------------------

def test_looks_like_video_on_fixtures(video_set: dict[str, Path]) -> None:
    verdicts = {name: looks_like_video(path) for name, path in video_set.items()}
    assert verdicts == {
        "h30": True, "ntsc": True, "p60": True, "pal": True, "portrait": True, "rotated": True,
        "noaudio": True, "vfr": True, "truncated": True,  # header intact: the probe explains the rest
        "audio_only": False, "image": False, "text": False, "empty": False,
    }


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x1a\x45\xdf\xa3" + bytes(60), Sniffed.VIDEO),  # Matroska / WebM
        (b"RIFF\x00\x00\x00\x00AVI LIST", Sniffed.VIDEO),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", Sniffed.AUDIO),
        ((b"\x47" + bytes(187)) * 3, Sniffed.VIDEO),  # MPEG-TS
        ((bytes(4) + b"\x47" + bytes(187)) * 3, Sniffed.VIDEO),  # M2TS / AVCHD
        (b"\x00\x00\x01\xba" + bytes(20), Sniffed.VIDEO),  # MPEG-PS
        (b"FLV\x01\x05" + bytes(20), Sniffed.VIDEO),
        (bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + bytes(8), Sniffed.VIDEO),  # ASF / WMV
        (b"\x00\x00\x00\x18ftypqt  \x00\x00\x00\x00", Sniffed.VIDEO),  # QuickTime
        (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00", Sniffed.AUDIO),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", Sniffed.IMAGE),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", Sniffed.IMAGE),
        (b"ID3\x04\x00" + bytes(20), Sniffed.AUDIO),
        (b"%PDF-1.7\n", Sniffed.UNKNOWN),
        (b"", Sniffed.UNKNOWN),
    ],
)
def test_sniff_bytes(head: bytes, expected: Sniffed) -> None:
    assert sniff_bytes(head) is expected


def test_iter_candidate_files_expands_sorted_and_skips_hidden(tmp_path: Path, nonascii_dir: Path) -> None:
    root = nonascii_dir
    for rel in ["b.mp4", "A.mp4", "sub/c.mkv", "sub/.hidden.mp4", ".cache/x.mp4", "Thumbs.db", "desktop.ini",
                "z/y/deep.mov"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    loose = tmp_path / ".explicit.mp4"  # named directly: the user chose it, hidden or not
    loose.write_bytes(b"x")
    found = list(iter_candidate_files([root, loose, root / "b.mp4"]))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        f"{root.name}/A.mp4",
        f"{root.name}/b.mp4",
        f"{root.name}/sub/c.mkv",
        f"{root.name}/z/y/deep.mov",
        ".explicit.mp4",
    ]


def test_iter_candidate_files_survives_unreadable_entries(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.mp4").write_bytes(b"x")
    (tmp_path / "locked").mkdir()
    real_scandir = __import__("os").scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path).name == "locked":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("core.media.detect.os.scandir", scandir)
    assert [p.name for p in iter_candidate_files([tmp_path])] == ["a.mp4"]
