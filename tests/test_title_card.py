"""The title card: a project gesture (validated, undoable) and N seconds of still before the first
clip in the export, on a colour or a blurred, dimmed frame of a clip, with text."""
from __future__ import annotations

import dataclasses

import av
import numpy as np
import pytest

from core.enums import GestureKind as K
from core.enums import TextAnchor, TitleBackground
from core.export.incremental import render_incremental
from core.export.part_cache import PartCache
from core.export.render import render
from core.export.spec import TextElement, TitleCard
from core.gestures.model import Gesture, GestureError
from tests.fixtures.library import seed_clip
from tests.fixtures.media import read_frame_number
from tests.test_export_render import clip, reel


def card_of(lib, project):
    return lib.show_project(project)["title_card"]


def test_title_card_gestures(library):
    _raw, project, wc = seed_clip(library)
    assert card_of(library, project) is None
    library.apply(Gesture(K.SET_TITLE_CARD, project, {"duration": 2.5, "elements": [
        {"text": "Saturday final", "size": 0.08}, {"text": "3 – 1", "preset": "bottom-center"}]}))
    card = card_of(library, project)
    assert card["duration"] == 2.5 and card["background"] == "color"
    assert [e["text"] for e in card["elements"]] == ["Saturday final", "3 – 1"]
    assert card["elements"][1]["font"] == "sans"  # element defaults filled in
    library.apply(Gesture(K.SET_TITLE_CARD, project, {"background": "frame", "working_clip": wc, "time": 2.0}))
    card = card_of(library, project)
    assert (card["background"], card["working_clip"], card["duration"]) == ("frame", wc, 2.5)
    library.undo(project)
    assert card_of(library, project)["background"] == "color"
    library.apply(Gesture(K.CLEAR_TITLE_CARD, project, {}))
    assert card_of(library, project) is None
    library.undo(project)
    assert card_of(library, project)["duration"] == 2.5


@pytest.mark.parametrize(("payload", "message"), [
    ({"elements": [{"text": ""}]}, r"elements \[0\] text must not be empty"),
    ({"elements": [{"text": "x", "size": 0}]}, r"elements \[0\] size must be > 0"),
    ({"elements": [{"text": "x", "font": "wingdings"}]}, r"elements \[0\] font must be one of"),
    ({"duration": 0.1}, "duration must be >= 0.5"),
    ({"background": "frame"}, "needs the working_clip"),
    ({}, "payload needs one of"),
])
def test_bad_title_cards_are_refused(library, payload, message):
    _raw, project, _wc = seed_clip(library)
    with pytest.raises(GestureError, match=message):
        library.apply(Gesture(K.SET_TITLE_CARD, project, payload))
    assert card_of(library, project) is None


def _decoded(path):
    with av.open(str(path)) as container:
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        sound = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
        marks = container.chapters()
    return pictures, sound, marks


def _incremental(spec, sources, out):
    render_incremental(spec, sources.__getitem__, out, PartCache(out.parent / "cache"))


def _one_pass(spec, sources, out):
    render(spec, sources.__getitem__, out)


# Every render path draws the card: local exports (incremental parts) and one-pass renders (what
# each Modal chunk runs).
RENDERERS = pytest.mark.parametrize("export", [_incremental, _one_pass], ids=["incremental", "one-pass"])


@RENDERERS
def test_a_colour_card_comes_first_and_shifts_picture_sound_and_chapters(media, tmp_path, export):
    card = TitleCard(1.0, color="#C00000", elements=(TextElement("FINAL", size=0.2, preset=TextAnchor.MIDDLE_CENTER),))
    spec = dataclasses.replace(reel(clip(end=1.0, uid="a"), clip(start=1.0, end=2.0, uid="b")), title_card=card)
    export(spec, media, tmp_path / "out.mp4")
    pictures, sound, marks = _decoded(tmp_path / "out.mp4")
    assert len(pictures) == 90
    corner = pictures[10][5:20, 5:20].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 150 and corner[1] < 40 and corner[2] < 40  # the card's colour
    middle = pictures[10][70:110, 100:220]
    assert (middle.min(axis=2) > 200).sum() > 200  # white text on it
    assert [read_frame_number(pictures[k]) for k in (30, 31, 60)] == [0, 1, 30]  # clips after the card
    assert np.abs(sound[: int(0.9 * 48000)]).max() < 0.01  # silence under the card
    assert np.abs(sound[48000: 2 * 48000]).max() > 0.1
    starts = [float(m["start"] * m["time_base"]) for m in marks]
    assert starts == pytest.approx([0.0, 2.0], abs=1 / 30)


@RENDERERS
def test_a_frame_card_shows_the_clip_blurred_and_dimmed(media, tmp_path, export):
    base = reel(clip(end=1.0, uid="a"))
    card = TitleCard(0.5, background=TitleBackground.FRAME, working_clip="a", time=0.5, blur=0.03, dim=0.5)
    export(dataclasses.replace(base, title_card=card), media, tmp_path / "card.mp4")
    pictures, _sound, _marks = _decoded(tmp_path / "card.mp4")
    still, shown = pictures[3].astype(np.float32), pictures[15 + 15].astype(np.float32)  # clip time 0.5 s
    assert np.abs(pictures[0].astype(np.int16) - pictures[14]).mean() < 1.0  # a still (up to the encoder)
    assert still.mean() == pytest.approx(16 + (shown.mean() - 16) * 0.5, rel=0.15)  # dimmed by half
    # Blurred beyond the dimming: the sharpest steps (marker and stripe edges) are far softer.
    def edges(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a.mean(axis=2), axis=1)).max())

    assert edges(still) < 0.5 * edges(shown) * 0.5
