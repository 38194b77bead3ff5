"""A Modal render in chunks: ``plan_chunks`` splits a RenderSpec into time chunks that GPUs render
in parallel, ``join_chunks`` joins their files without re-encoding the picture.

Chunks are cut on whole output frames (at most ``MAX_CHUNK_S`` of output each and up to
``max_containers`` of them; preferably at clip cuts and segment boundaries, never inside a
transition). The title card is the reel's first frames, so it is chunk 0's. Chunks carry PCM
sound, so the reel's AAC is encoded once, at the join.
"""
from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from core.editmath.timebase import frame_time
from core.enums import AudioCodec, TransitionType
from core.export.modal_backend import MAX_CHUNK_S, MAX_CONTAINERS, MIN_CHUNK_S
from core.export.spec import ClipSpec, RenderSpec, Transition
from core.export.title_card import card_clip, lead_frames

__all__ = ["Chunk", "chunk_count", "chunk_media", "join_chunks", "plan_chunks"]

_EPS = 1e-9



@dataclass(frozen=True)
class Chunk:
    index: int
    first_frame: int  # in the whole reel's output frames
    frames: int
    spec: RenderSpec


def chunk_count(frames: int, fps: Fraction, max_chunk_s: float = MAX_CHUNK_S,
                max_containers: int = MAX_CONTAINERS, min_chunk_s: float = MIN_CHUNK_S) -> int:
    """How many chunks: none longer than ``max_chunk_s``, and as many as ``max_containers``
    allow while each keeps at least ``min_chunk_s`` (a GPU container's start-up and model load
    would dominate a shorter one). 15 s: 5 chunks of 3 s; 10 min: 60 chunks of 10 s."""
    if max_chunk_s <= 0:
        return 1
    needed = math.ceil(frames / (max_chunk_s * fps) - _EPS)
    parallel = min(max_containers, math.floor(frames / (min_chunk_s * fps) + _EPS))
    return max(1, needed, parallel)


def plan_chunks(spec: RenderSpec, max_chunk_s: float = MAX_CHUNK_S,
                max_containers: int = MAX_CONTAINERS, min_chunk_s: float = MIN_CHUNK_S) -> list[Chunk]:
    """Split a render into ``chunk_count`` chunks at whole output frames.

    Cuts never fall inside a transition (fades and dissolves need both neighbours); near the ideal
    place a cut prefers a clip cut or a segment boundary (the frame at or before it, so the chunk
    after starts with the clip that frame shows). A chunk's spec is the reel's clips cut to its
    time range by trimming, so its frames are exactly the reel's frames of that range. The title
    card's frames come first in the reel, so chunk 0 draws them (its spec keeps the card); the
    cuts are placed on the clips' frames, counted after the card.
    """
    fps = spec.output.fps
    lead = lead_frames(spec.title_card, fps)
    total = max(1, math.floor(spec.output_duration * fps + 0.5))  # the clips' frames
    n = chunk_count(lead + total, fps, max_chunk_s, max_containers, min_chunk_s)
    if n <= 1:
        return [Chunk(0, 0, lead + total, spec)]
    starts = spec.clip_starts()
    clips = spec.clips
    allowed: list[tuple[float, float]] = []
    preferred: list[float] = []
    for i, clip in enumerate(clips):
        tl = clip.timeline()
        head = clip.transition_in.edge if i else 0.0
        tail = clips[i + 1].transition_in.edge if i + 1 < len(clips) else 0.0
        lo, hi = starts[i] + head, starts[i] + tl.output_duration - tail
        allowed.append((lo, hi))
        if i and clip.transition_in.type is TransitionType.CUT:
            preferred.append(starts[i])
        preferred += [starts[i] + s.out_start for s in tl.segments[1:]
                      if lo <= starts[i] + s.out_start <= hi]

    def ok(k: int) -> bool:
        t = frame_time(k, fps)
        return any(lo - _EPS <= t <= hi + _EPS for lo, hi in allowed)

    step = (lead + total) / n
    window = max(1, int(step * 0.3))
    min_gap = max(1, int(step * 0.25))
    candidates = sorted({math.floor(b * fps + _EPS) for b in preferred})
    cuts: list[int] = []
    for j in range(1, n):
        ideal = round(j * step) - lead
        lo_k, hi_k = (cuts[-1] if cuts else 0) + min_gap, total - min_gap
        near = [k for k in candidates if lo_k <= k <= hi_k and abs(k - ideal) <= window and ok(k)]
        if near:
            cuts.append(min(near, key=lambda k: (abs(k - ideal), k)))
            continue
        for d in range(window + 1):
            k = next((k for k in (ideal - d, ideal + d) if lo_k <= k <= hi_k and ok(k)), None)
            if k is not None:
                cuts.append(k)
                break
    bounds = [0, *cuts, total]
    # PCM sound in the chunks: the join encodes the reel's AAC once, from lossless samples.
    pcm = replace(spec, output=replace(spec.output, audio_codec=AudioCodec.PCM))
    chunks = []
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        piece = _slice(pcm, frame_time(a, fps), frame_time(b, fps) if b < total else None)
        if i == 0:
            chunks.append(Chunk(0, 0, lead + b, _with_card_clip(piece, card_clip(spec))))
        else:
            chunks.append(Chunk(i, lead + a, b - a, replace(piece, title_card=None)))
    return chunks


def _with_card_clip(piece: RenderSpec, clip: ClipSpec | None) -> RenderSpec:
    """Chunk 0's spec, its card carrying its background clip when the chunk does not show it."""
    card = piece.title_card
    if card is None or clip is None or any(c.uid == clip.uid for c in piece.clips):
        return piece
    return replace(piece, title_card=replace(card, clip=clip))


def chunk_media(spec: RenderSpec) -> set[str]:
    """The media a chunk reads: its clips' and its title card's background clip's."""
    clip = card_clip(spec)
    return {c.media_hash for c in spec.clips} | ({clip.media_hash} if clip else set())


def _slice(spec: RenderSpec, t0: float, t1: float | None) -> RenderSpec:
    """The reel between output times t0 and t1 (None: the end), clips cut by trimming."""
    if t0 <= _EPS and t1 is None:
        return spec
    pieces: list[ClipSpec] = []
    for clip, start in zip(spec.clips, spec.clip_starts(), strict=True):
        tl = clip.timeline()
        end = start + tl.output_duration
        a, b = max(start, t0), end if t1 is None else min(end, t1)
        if b - a <= _EPS:
            continue
        u0, u1 = a - start, b - start
        whole_head, whole_tail = u0 <= _EPS, u1 >= tl.output_duration - _EPS
        piece = clip
        if not (whole_head and whole_tail):
            lo = tl.trim_start if whole_head else tl.output_to_source(u0)
            hi = tl.trim_end if whole_tail else tl.output_to_source(u1)
            piece = replace(clip, trim=(lo, hi))
        if not (whole_head and pieces):  # a piece that starts mid-clip, or a chunk's first clip
            piece = replace(piece, transition_in=Transition())
        pieces.append(piece)
    return replace(spec, clips=tuple(pieces))


def join_chunks(paths: Sequence[Path], out_path: Path, *, faststart: bool = True) -> Path:
    """Concatenate chunk MP4s into one. The picture is remuxed packet by packet (no re-encode,
    frame-exact: every chunk starts on its own IDR frame), each chunk shifted by the frames
    before it. The sound is decoded per chunk, cut to exactly its frames' duration and encoded
    ONCE as one AAC stream: AAC packets cannot be spliced cleanly (each join would lose the MDCT
    overlap, an audible click, and a chunk that is not a whole number of 1024-sample AAC frames
    drifts the sound against the picture). That costs seconds of CPU for a whole reel."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.join.mp4")
    options = {"movflags": "+faststart"} if faststart else {}
    try:
        with av.open(str(paths[0])) as first:
            template = first.streams.video[0]
            rate = template.average_rate or template.guessed_rate
            if rate is None:
                raise ValueError(f"{paths[0].name} has no frame rate")
            fps = Fraction(rate)
            audio_in = first.streams.audio[0] if first.streams.audio else None
            bit_rate = (audio_in.codec_context.bit_rate or 160_000) if audio_in else 0
            with av.open(str(tmp), "w", format="mp4", options=options) as dst:
                vout = dst.add_stream_from_template(template)
                sound = _AudioJoin(dst, bit_rate) if audio_in is not None else None
                frames_before = 0
                last_dts = -(1 << 62)
                for index, path in enumerate(paths):
                    with av.open(str(path)) as src:
                        video = src.streams.video[0]
                        frames = video.frames or _count_frames(path)
                        if sound is not None:
                            sound.add_chunk(src, frames_before, frames, fps)
                        if video.time_base is None:
                            raise ValueError(f"chunk {index} has no time base")
                        v0 = Fraction(video.start_time or 0) * video.time_base
                        offset = Fraction(frames_before) / fps - v0
                        for packet in src.demux(video):
                            if packet.dts is None or packet.size == 0:
                                continue  # demuxer flush packets
                            shift = round(offset / packet.time_base)
                            packet.dts += shift
                            if packet.pts is not None:
                                packet.pts += shift
                            if packet.dts <= last_dts:
                                raise ValueError(f"chunk {index} cannot be joined: its timestamps "
                                                 "overlap the chunk before")
                            last_dts = packet.dts
                            if sound is not None:  # keep the file interleaved
                                sound.mux_until(packet.dts * packet.time_base)
                            packet.stream = vout
                            dst.mux(packet)
                    frames_before += frames
                if sound is not None:
                    sound.finish()
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out_path


class _AudioJoin:
    """One AAC stream fed with each chunk's decoded sound, cut to the chunk's exact length."""

    RATE = 48_000
    FRAME = 1024

    def __init__(self, dst: Any, bit_rate: int) -> None:
        self._dst = dst
        self._stream = dst.add_stream("aac", rate=self.RATE)
        self._stream.layout = "stereo"
        self._stream.bit_rate = bit_rate
        self._carry = np.zeros((2, 0), np.float32)
        self._sent = 0  # samples handed to the encoder
        self._pending: list[Any] = []

    def add_chunk(self, src: Any, frames_before: int, frames: int, fps: Fraction) -> None:
        first = frames_before * self.RATE * fps.denominator // fps.numerator
        last = (frames_before + frames) * self.RATE * fps.denominator // fps.numerator
        pcm = np.zeros((2, last - first), np.float32)
        if src.streams.audio:
            stream = src.streams.audio[0]
            origin = Fraction(src.start_time or 0, 1_000_000)
            resampler = _resampler(self.RATE)
            for frame in src.decode(stream):
                for out in resampler.resample(frame):
                    self._place(pcm, out, origin)
            for out in resampler.resample(None):
                self._place(pcm, out, origin)
        src.seek(0)
        self._carry = np.concatenate([self._carry, pcm], axis=1)
        whole = self._carry.shape[1] - self._carry.shape[1] % self.FRAME
        self._encode(self._carry[:, :whole])
        self._carry = self._carry[:, whole:]

    def _place(self, pcm: Any, frame: Any, origin: Fraction) -> None:
        if frame.pts is None:
            return
        at = round((Fraction(frame.pts) * frame.time_base - origin) * self.RATE)
        data = frame.to_ndarray()
        lo, hi = max(at, 0), min(at + data.shape[1], pcm.shape[1])
        if hi > lo:
            pcm[:, lo:hi] = data[:, lo - at: hi - at]

    def _encode(self, samples: Any) -> None:
        for i in range(0, samples.shape[1], self.FRAME):
            chunk = np.ascontiguousarray(samples[:, i: i + self.FRAME])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = self.RATE
            frame.pts = self._sent
            frame.time_base = Fraction(1, self.RATE)
            self._sent += chunk.shape[1]
            self._pending.extend(self._stream.encode(frame))

    def mux_until(self, t: Fraction) -> None:
        while self._pending and self._pending[0].dts is not None \
                and self._pending[0].dts * self._pending[0].time_base <= t:
            self._dst.mux(self._pending.pop(0))

    def finish(self) -> None:
        if self._carry.shape[1]:
            self._encode(self._carry)
        self._pending.extend(self._stream.encode(None))
        for packet in self._pending:
            self._dst.mux(packet)
        self._pending.clear()


def _resampler(rate: int) -> Any:
    return av.AudioResampler(format="fltp", layout="stereo", rate=rate)


def _count_frames(path: Path) -> int:
    with av.open(str(path)) as src:
        return sum(1 for p in src.demux(src.streams.video[0]) if p.size)
