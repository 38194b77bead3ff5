"""Local H.264 encoders: GPU encoders only after a test encode, x264 as the fallback."""
from __future__ import annotations

import json
import av
import pytest

from core.enums import VideoEncoder
from core.export import encoders, render as render_module
from core.export.jobs import ExportJobs
from tests.fixtures.media import make_video
from tests.test_export_jobs import seed_reel
from tests.test_export_render import clip, frames_of, output, reel, run


@pytest.fixture
def fake_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """NVENC -> PNG (a real encoder that cannot take yuv420p: its test encode fails), QSV -> a
    name FFmpeg does not know, AMF -> x264 (works everywhere): detection must tell them apart."""
    monkeypatch.setitem(encoders.CODECS, VideoEncoder.NVENC, "png")
    monkeypatch.setitem(encoders.CODECS, VideoEncoder.QSV, "no_such_encoder")
    monkeypatch.setitem(encoders.CODECS, VideoEncoder.AMF, "libx264")
    monkeypatch.setattr(encoders, "stream_options", lambda e, crf, preset: {"crf": str(crf)})
    encoders.available_hardware.cache_clear()
    yield
    encoders.available_hardware.cache_clear()


def test_hardware_encoders_count_only_after_a_test_encode(fake_table) -> None:
    assert encoders.available_hardware() == (VideoEncoder.AMF,)
    assert encoders.codec_chain(VideoEncoder.AUTO) == [VideoEncoder.AMF, VideoEncoder.X264]
    assert encoders.codec_chain(VideoEncoder.NVENC) == [VideoEncoder.X264]  # failed its test
    assert encoders.codec_chain(VideoEncoder.X264) == [VideoEncoder.X264]


def test_a_gpu_encoder_failing_mid_export_falls_back_to_x264(fake_table, monkeypatch, tmp_path) -> None:
    media = {"h30": make_video(tmp_path / "h30.mp4", seconds=0.5)}
    # The GPU encoder passed detection but fails when the export opens it (driver, sessions).
    monkeypatch.setattr(render_module, "codec_chain",
                        lambda choice: [VideoEncoder.NVENC, VideoEncoder.X264])
    seen = []
    spec = reel(clip(end=0.4), out=output(encoder=VideoEncoder.NVENC))
    path = run(spec, media, tmp_path, on_progress=lambda p: seen.append(p.encoder))
    frames, _ = frames_of(path)
    assert len(frames) == 12
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert seen[-1] == "libx264"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_the_job_records_the_encoder_and_the_cli_takes_encoder_and_size(capsys, library, tmp_path) -> None:
    from desktop.cli import main

    source = make_video(tmp_path / "game.mp4", seconds=1.0)
    project = seed_reel(library, source, seconds=0.2)
    code = main(["--library", str(library.root), "export", project, "--json", "--preset",
                 "ultrafast", "--crf", "40", "--encoder", "x264", "--size", "1920x1080"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["width"], doc["height"], doc["encoder"]) == (1920, 1080, "libx264")
    assert ExportJobs(library).get(doc["job"]).encoder == "libx264"
    code = main(["--library", str(library.root), "export", project, "--size", "1080x1920"])
    _, err = capsys.readouterr()
    assert code == 2 and "1920x1080, 2560x1440, 3840x2160" in err


def test_auto_with_no_usable_gpu_encoder_renders_with_x264(monkeypatch) -> None:
    monkeypatch.setattr(encoders, "HARDWARE", ())
    encoders.available_hardware.cache_clear()
    try:
        assert encoders.codec_chain(VideoEncoder.AUTO) == [VideoEncoder.X264]
    finally:
        encoders.available_hardware.cache_clear()
