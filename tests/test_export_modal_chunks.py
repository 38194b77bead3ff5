"""Modal chunks: enough of them for parallel GPUs, and each reads only its bytes of the source."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from fractions import Fraction
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest

from core.enums import AspectRatio, AudioCodec
from core.export import modal_app
from core.export.chunks import chunk_count, plan_chunks
from core.export.modal_backend import MAX_CHUNK_S
from tests.fixtures.media import make_video, read_frame_number, remux_with_ffmpeg
from tests.test_export_render import clip, output, reel


def test_a_15_s_reel_is_rendered_by_at_least_3_containers() -> None:
    # One 15 s clip at 30 fps: 60 s chunks used to give one GPU for any reel under 90 s.
    spec = reel(clip("h", start=0.0, end=15.0, aspect=AspectRatio.LANDSCAPE),
                out=output(1920, 1080))
    chunks = plan_chunks(spec)
    assert len(chunks) >= 3
    assert sum(c.frames for c in chunks) == 450
    assert all(c.frames <= MAX_CHUNK_S * 30 for c in chunks)
    assert all(c.spec.output.audio_codec is AudioCodec.PCM for c in chunks)  # AAC once, at the join
    # A long reel: chunks never exceed 10 s, and N containers is a setting.
    long = reel(clip("h", start=0.0, end=600.0), out=output(1920, 1080))
    assert chunk_count(18_000, Fraction(30)) == 60
    assert len(plan_chunks(long, max_containers=4)) == 60
    assert chunk_count(450, Fraction(30), max_containers=2) == 2


_PIECE = 64 * 1024


class _RangeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path) -> None:
        super().__init__(("127.0.0.1", 0), _RangeHandler)
        self.folder = folder
        self.sent = 0
        self.lock = threading.Lock()


class _RangeHandler(BaseHTTPRequestHandler):
    """GET with Range support (what S3/R2 presigned URLs answer), counting the bytes sent.

    A response carries at most _PIECE bytes (a 206 may be shorter than asked; the client asks
    again from where it stopped): on loopback the socket buffers would otherwise swallow
    megabytes the client never reads, and the count would measure buffers, not reads."""

    server: _RangeServer

    def do_GET(self) -> None:
        data = (self.server.folder / self.path.lstrip("/")).read_bytes()
        size = len(data)
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        lo, hi = (int(m[1]), int(m[2]) if m[2] else size - 1) if m else (0, size - 1)
        body = data[lo: min(hi, lo + _PIECE - 1) + 1]
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Range", f"bytes {lo}-{lo + len(body) - 1}/{size}")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # FFmpeg hangs up once it has enough
            pass
        with self.server.lock:
            self.server.sent += len(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[_RangeServer]:
    # "A game" as cameras write it: 2 min, keyframes every second, sound interleaved with the
    # picture, the moov at the end (not faststart).
    remux_with_ffmpeg(make_video(tmp_path / "raw.mp4", seconds=120.0), tmp_path / "game.mp4")
    server = _RangeServer(tmp_path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_chunk_reads_only_the_byte_ranges_it_needs(served, tmp_path) -> None:
    size = (served.folder / "game.mp4").stat().st_size
    url = f"http://127.0.0.1:{served.server_address[1]}/game.mp4"
    spec = reel(clip("game", start=30.0, end=31.0))  # 1 s from a 2 min game
    out = tmp_path / "out" / "chunk.mp4"
    info = modal_app.run_render("job-r", spec.to_json(), {"game": url}, out.as_uri(), store={})
    assert info["duration"] == pytest.approx(1.0, abs=0.04)
    with av.open(str(out)) as container:
        numbers = [read_frame_number(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    assert numbers == list(range(900, 930))  # the right frames, read over HTTP
    assert 0 < served.sent < size / 5, f"read {served.sent} of {size} bytes"
