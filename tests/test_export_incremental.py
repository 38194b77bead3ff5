"""Incremental export: per-clip parts cached on disk, reused when nothing that makes them changed,
joined without re-encoding into a file frame-identical to an export with an empty cache."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from core.enums import TransitionType
from core.export.incremental import render_incremental
from core.export.part_cache import PartCache
from core.export.render import render
from core.export.spec import CropKeyframe, TextElement, TextRegion, Transition
from tests.test_export_render import clip, reel


def edit(dissolve_into_2: bool = False):
    clips = [clip(start=0.25 * i, end=0.25 * i + 0.6, uid=f"c{i}", title=f"Clip {i}") for i in range(4)]
    if dissolve_into_2:
        clips[2] = dataclasses.replace(clips[2], transition_in=Transition(TransitionType.DISSOLVE, 0.2))
    return clips


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]


def export(spec, media, path: Path, cache_dir: Path):
    return render_incremental(spec, media.__getitem__, path, PartCache(cache_dir))[1]


def test_a_second_export_reuses_every_part_even_after_a_restart(media, tmp_path):
    spec = reel(*edit())
    first = export(spec, media, tmp_path / "a.mp4", tmp_path / "cache")
    assert [(r.working_clip, r.reused) for r in first] == [(f"c{i}", False) for i in range(4)]
    second = export(spec, media, tmp_path / "b.mp4", tmp_path / "cache")  # a new PartCache: a restart
    assert all(r.reused for r in second)
    a, b = frames(tmp_path / "a.mp4"), frames(tmp_path / "b.mp4")
    one_pass = frames(render(spec, media.__getitem__, tmp_path / "one.mp4"))
    assert len(a) == len(b) == len(one_pass) == 72
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    # The same pictures as the one-pass renderer, up to the encoder's rounding.
    assert max(float(np.abs(x.astype(np.int16) - y).mean()) for x, y in zip(a, one_pass, strict=True)) < 1.5
    with av.open(str(tmp_path / "b.mp4")) as container:
        assert container.streams.audio[0].frames > 0
        assert [c["metadata"]["title"] for c in container.chapters()] == [f"Clip {i}" for i in range(4)]


@pytest.mark.parametrize(("dissolve", "rerendered"), [(False, {"c1"}), (True, {"c1", "c2"})])
def test_changing_one_clip_rerenders_it_and_the_dissolve_after_it(media, tmp_path, dissolve, rerendered):
    clips = edit(dissolve)
    export(reel(*clips), media, tmp_path / "a.mp4", tmp_path / "cache")
    text = TextRegion("t", 0.0, 0.5, (TextElement("GOAL", size=0.2),))
    clips[1] = dataclasses.replace(clips[1], crop_keyframes=(CropKeyframe(0.0, 40.0, 20.0, 160.0, 90.0),),
                                   text_regions=(text,))
    changed = reel(*clips)
    result = export(changed, media, tmp_path / "b.mp4", tmp_path / "cache")
    assert {r.working_clip for r in result if not r.reused} == rerendered
    cold = export(changed, media, tmp_path / "cold.mp4", tmp_path / "empty-cache")
    assert not any(r.reused for r in cold)
    b, c = frames(tmp_path / "b.mp4"), frames(tmp_path / "cold.mp4")
    assert len(b) == len(c) and all(np.array_equal(x, y) for x, y in zip(b, c, strict=True))
    assert not np.array_equal(b[20], frames(tmp_path / "a.mp4")[20])  # clip 1 did change


def test_a_damaged_part_is_detected_and_rendered_again(media, tmp_path):
    spec = reel(*edit())
    export(spec, media, tmp_path / "a.mp4", tmp_path / "cache")
    parts = sorted((tmp_path / "cache").glob("*.mp4"))
    assert len(parts) == 4
    victim = parts[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    (tmp_path / "cache" / f"{parts[1].stem}.json").write_text("{not json", encoding="utf-8")
    result = export(spec, media, tmp_path / "b.mp4", tmp_path / "cache")
    assert sum(not r.reused for r in result) == 2
    a, b = frames(tmp_path / "a.mp4"), frames(tmp_path / "b.mp4")
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_cache_is_bounded_least_recently_used_first(tmp_path):
    cache = PartCache(tmp_path / "c", max_bytes=2500)
    for i, key in enumerate(("a", "b", "c")):
        tmp = cache.new_path(key)
        tmp.write_bytes(bytes([i]) * 1000)
        cache.put(key, tmp, 1)
        assert cache.get("a") is not None or key == "c"  # keep using "a"
    # "b" was the least recently used when "c" pushed the total over the bound.
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert sum(p.stat().st_size for p in (tmp_path / "c").glob("*.mp4")) <= 2500


def test_parts_left_half_written_by_a_killed_render_are_swept(tmp_path):
    import os
    import time

    folder = tmp_path / "c"
    folder.mkdir()
    old, fresh = folder / ".k1.aaaa.partial.mp4", folder / ".k2.bbbb.partial.mp4"
    for p in (old, fresh):
        p.write_bytes(b"x" * 10)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    PartCache(folder)
    assert not old.exists() and fresh.exists()  # one being written now is left alone


def test_a_part_being_rendered_is_on_disk_from_its_first_frame(media, tmp_path):
    """A render killed after its first reported frame leaves its partial part where recovery
    sweeps it. The encoder holds its first frames back (look-ahead), so the file must not wait
    for the first packet to be created (the killed-render recovery test relied on timing)."""
    cache = tmp_path / "cache"
    seen: list[list[Path]] = []

    def on_progress(p) -> None:
        if p.stage == "rendering" and not seen:
            seen.append(sorted((cache).glob(".*.partial.mp4")))

    render_incremental(reel(*edit()), media.__getitem__, tmp_path / "a.mp4", PartCache(cache), on_progress)
    assert seen and len(seen[0]) == 1
