"""Audio peak data for drawing waveforms: max |sample| of the mono mix per bucket, cached as .npy."""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np

from core.media.errors import MediaError, MediaErrorKind, OperationCancelled, from_os_error
from core.media.probe import open_media

log = logging.getLogger(__name__)

WAVEFORMS_DIR = "waveforms"
_MAX_PEAKS_PER_SECOND = 1000


def peaks_path(cache_dir: Path, media_hash: str, peaks_per_second: int = 50) -> Path:
    return Path(cache_dir) / WAVEFORMS_DIR / f"{media_hash}-{peaks_per_second}.npy"


def compute_peaks(
    video: Path,
    *,
    peaks_per_second: int = 50,
    cancelled: Callable[[], bool] | None = None,
) -> np.ndarray:
    """float32 array, one value in 0..1 per 1/peaks_per_second s from the media's start; empty without audio.

    Streams the decode (a two-hour file never sits in memory) and aligns bucket 0 to time 0 using the
    first audio frame's timestamp, so the peaks line up with the picture.
    """
    if not 0 < peaks_per_second <= _MAX_PEAKS_PER_SECOND:
        raise ValueError(f"peaks_per_second must be in 1..{_MAX_PEAKS_PER_SECOND}")
    video = Path(video)
    with open_media(video) as container:
        if not container.streams.audio:
            return np.zeros(0, np.float32)
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        if not rate:
            return np.zeros(0, np.float32)
        origin = _origin_seconds(container)
        buckets = _Buckets(rate, peaks_per_second)
        try:
            for samples in _mono_chunks(container, stream, rate, origin, cancelled):
                buckets.feed(samples)
        except av.error.FFmpegError as exc:  # demuxing a damaged file
            raise MediaError(video, "damaged audio: reading it failed", MediaErrorKind.UNDECODABLE) from exc
        peaks: np.ndarray = np.clip(buckets.finish(), 0.0, 1.0).astype(np.float32)
        return peaks


def _origin_seconds(container: av.container.InputContainer) -> float:
    # Time 0 is where the picture starts, so the waveform and the thumbnails share one clock.
    video = container.streams.video[0] if container.streams.video else None
    if video is not None and video.start_time is not None and video.time_base:
        return float(video.start_time * video.time_base)
    if container.start_time is not None:
        return container.start_time / av.time_base
    return 0.0


def _mono_chunks(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    rate: int,
    origin: float,
    cancelled: Callable[[], bool] | None,
) -> Iterator[np.ndarray]:
    # Average the channels ourselves: FFmpeg's mono downmix adds them at -3 dB each, so a loud stereo
    # track would read above full scale. One converter per channel layout, as a stream may switch.
    resamplers: dict[str, av.AudioResampler] = {}
    first = True
    skip = 0
    for packet in container.demux(stream):
        if cancelled is not None and cancelled():
            raise OperationCancelled("waveform cancelled")
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:  # a damaged packet costs a few ms of waveform, not all of it
            continue
        for frame in frames:
            if first:
                first = False
                start = round(((frame.time if frame.time is not None else origin) - origin) * rate)
                if start > 0:  # audio begins after the picture: leading silence
                    yield np.zeros(start, np.float32)
                skip = max(0, -start)  # audio begins before the picture: drop the excess
            layout = frame.layout.name
            if layout not in resamplers:
                resamplers[layout] = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            for planar in resamplers[layout].resample(frame):
                data = planar.to_ndarray().mean(axis=0, dtype=np.float32)
                if skip:
                    taken = min(skip, data.size)
                    data, skip = data[taken:], skip - taken
                yield data
    for resampler in resamplers.values():
        for planar in resampler.resample(None):
            yield planar.to_ndarray().mean(axis=0, dtype=np.float32)


class _Buckets:
    """Max |x| per bucket; bucket k covers samples [k·rate//pps, (k+1)·rate//pps)."""

    def __init__(self, rate: int, pps: int) -> None:
        self.rate, self.pps = rate, pps
        self.next_bucket = 0
        self.buffer_start = 0  # absolute sample index of buffer[0]
        self.buffer = np.zeros(0, np.float32)
        self.peaks: list[np.ndarray] = []

    def _start(self, k: int) -> int:
        return k * self.rate // self.pps

    def feed(self, samples: np.ndarray) -> None:
        self.buffer = np.concatenate([self.buffer, np.abs(samples.astype(np.float32, copy=False))])
        end = self.buffer_start + self.buffer.size
        last = self.next_bucket
        while self._start(last + 1) <= end:
            last += 1
        if last == self.next_bucket:
            return
        starts = np.array([self._start(k) for k in range(self.next_bucket, last)], np.int64) - self.buffer_start
        stop = self._start(last) - self.buffer_start
        self.peaks.append(np.maximum.reduceat(self.buffer[:stop], starts))
        self.buffer = self.buffer[stop:]
        self.buffer_start += stop
        self.next_bucket = last

    def finish(self) -> np.ndarray:
        if self.buffer.size:
            self.peaks.append(np.array([self.buffer.max()], np.float32))
        return np.concatenate(self.peaks) if self.peaks else np.zeros(0, np.float32)


def save_peaks(path: Path, peaks: np.ndarray) -> None:
    """Write peaks atomically (temp file + rename), so a crash never leaves a half cache entry."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as fh:
            np.save(fh, np.asarray(peaks, np.float32), allow_pickle=False)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise from_os_error(path, exc, doing="writing the waveform cache") from exc


def load_peaks(path: Path) -> np.ndarray | None:
    """Cached peaks, or None when missing or unreadable (the caller recomputes)."""
    try:
        peaks: np.ndarray = np.load(Path(path), allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError) as exc:
        log.warning("ignoring damaged waveform cache %s: %s", path, exc)
        return None
    if peaks.ndim != 1 or peaks.dtype != np.float32:
        log.warning("ignoring waveform cache %s with unexpected shape or type", path)
        return None
    return peaks


def ensure_peaks(
    video: Path,
    cache_dir: Path,
    media_hash: str,
    *,
    peaks_per_second: int = 50,
    cancelled: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Cached peaks for ``media_hash``, computed and stored when missing."""
    path = peaks_path(cache_dir, media_hash, peaks_per_second)
    peaks = load_peaks(path)
    if peaks is None:
        peaks = compute_peaks(video, peaks_per_second=peaks_per_second, cancelled=cancelled)
        save_peaks(path, peaks)
    return peaks
