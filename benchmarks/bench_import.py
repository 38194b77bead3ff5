"""Import speed: importing a large video vs plainly reading it, side by side; thumbnail throughput.

    python -m benchmarks.bench_import [--size-mb 1024] [--repeat 2] [--dir DIR]

1. Writes a real video of ``--size-mb`` (uncompressed frames in Matroska: generating it is fast and
   every byte is video data), then alternates a plain sequential read of it (4 MiB chunks, nothing
   else) with a full import into a fresh library (probe, copy + BLAKE3 in one read, fsync, atomic
   rename, probe of the copy, gestures). Goal: import >= 0.8x the read speed.

   Page cache, stated in the output: "cold" evicts the source from the OS cache before every timed
   run (posix_fadvise DONTNEED, no root needed; Linux only), so both sides read from the disk;
   "warm" reads the file once first, so both sides read from memory and the import's cost is the
   hashing and the write to disk. A plain copy (read + write + fsync) is shown as the ceiling that
   any import writing to the same disk can reach, and ``--link`` (hard link + hash: no write) shows
   the import's own overhead over a read.
2. Generates a 2-minute 720p H.264 video (keyframe every 2 s, like a camera) and times the thumbnail
   strip (one every 2 s) into an empty cache: thumbnails per second.

Temporary files go to ``--dir`` (default: the system temp folder) and are deleted at the end.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.library import Library
from core.media.importer import ImportResult, ImportService, ImportStatus
from core.media.thumbnails import ensure_thumbnails

log = logging.getLogger("bench")
CHUNK = 4 * 1024 * 1024
MB = 1_000_000


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# -- sources -------------------------------------------------------------------------------------
def make_raw_video(path: Path, size_mb: int) -> Path:
    """Uncompressed 320x240 yuv420p frames in Matroska until the file reaches ``size_mb``.

    115 KB per packet is about the average packet of 50 Mbit/s 1080p60 camera footage, so the probe
    (which samples the first 120 packets) reads about as much as it would on a real recording.
    """
    width, height = 320, 240
    frame_bytes = width * height * 3 // 2
    frames = max(2, size_mb * MB // frame_bytes)
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, size=(height * 3 // 2, width), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("rawvideo", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i * 17, axis=1), format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def make_camera_video(path: Path, seconds: float = 120.0, fps: int = 30) -> Path:
    """A 720p H.264 video with a moving picture and a keyframe every 2 s."""
    width, height = 1280, 720
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    base = np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)),
                     np.full((height, width), 96, np.float32)], axis=-1).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 2 * fps
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i * 4, axis=1), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


# -- page cache ----------------------------------------------------------------------------------
def can_evict() -> bool:
    return hasattr(os, "posix_fadvise") and hasattr(os, "POSIX_FADV_DONTNEED")


def evict(path: Path) -> None:
    """Drop a file's pages from the OS cache (clean pages only, hence the fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(path: Path) -> None:
    plain_read(path)


# -- the timed operations --------------------------------------------------------------------------
def plain_read(path: Path) -> int:
    buffer = bytearray(CHUNK)
    total = 0
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            total += n
    return total


def plain_copy(path: Path, work: Path) -> None:
    dest = work / "copy.bin"
    with open(path, "rb") as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)
        dst.flush()
        os.fsync(dst.fileno())
    dest.unlink()


def timed(fn: Callable[[], object], before: Callable[[], None]) -> float:
    before()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def timed_import(path: Path, work: Path, before: Callable[[], None], *, link: bool = False) -> float:
    """One import into a fresh library (created and migrated outside the timing)."""
    root = work / "library"
    lib = Library(root)
    try:
        service = ImportService(lib)
        results: list[ImportResult] = []
        elapsed = timed(lambda: results.extend(service.import_paths([path], link=link)), before)
        if results[0].status is not ImportStatus.IMPORTED:
            raise RuntimeError(f"import failed: {results[0].error}")
        return elapsed
    finally:
        lib.close()
        shutil.rmtree(root)


def bench_import(source: Path, work: Path, repeat: int) -> None:
    size = source.stat().st_size
    out(f"source: {size / MB:,.0f} MB video (uncompressed 320x240 Matroska, 115 KB packets), "
        f"chunk {CHUNK // 2**20} MiB, {os.cpu_count()} CPU(s)")
    modes: list[tuple[str, Callable[[], None]]] = []
    if can_evict():
        modes.append(("cold (source evicted from the page cache before each run)", lambda: evict(source)))
    else:
        out("cold runs skipped: this OS has no posix_fadvise to evict a file from its cache")
    modes.append(("warm (source read once before; served from memory)", lambda: None))
    for label, before in modes:
        if label.startswith("warm"):
            warm(source)
        reads, imports, copies, links = [], [], [], []
        for _ in range(repeat):  # interleaved, so drift hits every side alike
            reads.append(timed(lambda: plain_read(source), before))
            imports.append(timed_import(source, work, before))
            copies.append(timed(lambda: plain_copy(source, work), before))
            links.append(timed_import(source, work, before, link=True))
        read_s, import_s, copy_s, link_s = min(reads), min(imports), min(copies), min(links)
        out(f"\n{label}, best of {repeat}:")
        out(f"  plain read        {size / read_s / MB:8.0f} MB/s  ({read_s:.2f} s)")
        out(f"  plain copy+fsync  {size / copy_s / MB:8.0f} MB/s  ({copy_s:.2f} s)")
        out(f"  import            {size / import_s / MB:8.0f} MB/s  ({import_s:.2f} s)  "
            f"median {size / statistics.median(imports) / MB:.0f} MB/s")
        out(f"  import --link     {size / link_s / MB:8.0f} MB/s  ({link_s:.2f} s)  (hash only, no copy)")
        out(f"  import / read         = {read_s / import_s:.2f}x   (goal >= 0.80x)")
        out(f"  import / copy+fsync   = {copy_s / import_s:.2f}x   (the ceiling for any copying import)")
        out(f"  import --link / read  = {read_s / link_s:.2f}x")


def bench_thumbnails(work: Path) -> None:
    video = work / "camera 2min.mp4"
    started = time.perf_counter()
    make_camera_video(video)
    out(f"\nthumbnails: 2-minute 1280x720 H.264 30 fps, keyframe every 2 s "
        f"({video.stat().st_size / MB:.1f} MB, generated in {time.perf_counter() - started:.1f} s)")
    for every_s in (2.0, 0.5):
        cache = work / f"cache-{every_s}"
        started = time.perf_counter()
        thumbs = ensure_thumbnails(video, cache, "bench", every_s=every_s, height=90)
        elapsed = time.perf_counter() - started
        out(f"  one every {every_s:g} s: {len(thumbs)} thumbnails in {elapsed:.2f} s = "
            f"{len(thumbs) / elapsed:.0f} thumbnails/s ({120 / elapsed:.0f}x real time)")
        shutil.rmtree(cache)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the imported file (default 1024)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per side (best is shown)")
    parser.add_argument("--dir", type=Path, default=None, help="where temporary files go (same disk as a library)")
    parser.add_argument("--skip-thumbnails", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-import-", dir=args.dir))
    try:
        started = time.perf_counter()
        source = make_raw_video(work / "source 1080p.mkv", args.size_mb)
        out(f"generated the source in {time.perf_counter() - started:.1f} s in {work}")
        bench_import(source, work, max(1, args.repeat))
        if not args.skip_thumbnails:
            bench_thumbnails(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
