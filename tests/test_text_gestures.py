"""Text regions and elements as gestures: folding, undo/redo, convergence, bad input, the CLI."""
from __future__ import annotations

import json

import pytest

from core.enums import GestureKind as K
from core.gestures.model import Gesture, GestureError
from desktop.cli import main
from tests.fixtures.library import seed_clip


def texts(lib, project):
    return lib.show_project(project)["clips"][0]["edit"]["text_regions"]


def add_text(lib, wc, start=1.0, end=3.0, **element):
    region = lib.apply(Gesture(K.ADD_TEXT_REGION, wc, {"start": start, "end": end})).created["text_region"]
    payload = {"text_region": region, "text": "GOAL!", **element}
    el = lib.apply(Gesture(K.ADD_TEXT_ELEMENT, wc, payload)).created["text_element"]
    return region, el


def test_regions_and_elements_fold_update_and_delete(library):
    _raw, project, wc = seed_clip(library)
    region, el = add_text(library, wc, preset="top-left", size=0.1, color="#FF0000", font="serif")
    [r] = texts(library, project)
    assert (r["uid"], r["start"], r["end"]) == (region, 1.0, 3.0)
    [e] = r["elements"]
    assert e["uid"] == el and e["text"] == "GOAL!" and e["preset"] == "top-left" and e["font"] == "serif"
    assert e["size"] == 0.1 and e["color"] == "#FF0000"
    assert e["x"] is None and e["align"] == "center" and e["fade_in"] == 0.0  # defaults are filled in

    library.apply(Gesture(K.UPDATE_TEXT_ELEMENT, wc, {"text_region": region, "text_element": el,
                                                       "text": "Ναι — Да — 決勝", "x": 0.25, "y": 0.75}))
    library.apply(Gesture(K.UPDATE_TEXT_REGION, wc, {"text_region": region, "end": 4.5}))
    [r] = texts(library, project)
    assert r["end"] == 4.5 and r["elements"][0]["text"] == "Ναι — Да — 決勝"
    assert (r["elements"][0]["x"], r["elements"][0]["y"]) == (0.25, 0.75)
    assert r["elements"][0]["color"] == "#FF0000"  # untouched fields stay

    second = library.apply(Gesture(K.ADD_TEXT_ELEMENT, wc, {"text_region": region, "text": "2-1"})).created
    assert len(texts(library, project)[0]["elements"]) == 2
    library.apply(Gesture(K.DELETE_TEXT_ELEMENT, wc, {"text_region": region, "text_element": second["text_element"]}))
    assert [x["uid"] for x in texts(library, project)[0]["elements"]] == [el]
    library.apply(Gesture(K.DELETE_TEXT_REGION, wc, {"text_region": region}))
    assert texts(library, project) == []
    # Stale input never raises: the region is gone.
    library.apply(Gesture(K.DELETE_TEXT_ELEMENT, wc, {"text_region": region, "text_element": el}))
    library.apply(Gesture(K.UPDATE_TEXT_REGION, wc, {"text_region": region, "start": 0.5}))
    assert texts(library, project) == []


def test_undo_and_redo_restore_text(library):
    _raw, project, wc = seed_clip(library)
    region, el = add_text(library, wc)
    library.apply(Gesture(K.UPDATE_TEXT_ELEMENT, wc, {"text_region": region, "text_element": el, "text": "SAVE"}))
    before_delete = texts(library, project)
    library.apply(Gesture(K.DELETE_TEXT_REGION, wc, {"text_region": region}))
    assert texts(library, project) == []
    library.undo(project)
    assert texts(library, project) == before_delete  # the region and its element come back
    library.undo(project)
    assert texts(library, project)[0]["elements"][0]["text"] == "GOAL!"
    library.redo(project)
    assert texts(library, project)[0]["elements"][0]["text"] == "SAVE"
    library.undo(project)
    library.undo(project)  # the element
    library.undo(project)  # the region
    assert texts(library, project) == []


def test_restore_version_brings_text_back(library):
    _raw, project, wc = seed_clip(library)
    region, _el = add_text(library, wc, outline=0.1, shadow=0.05)
    wanted = texts(library, project)
    version = library.show_project(project)["clips"][0]
    hist = library.history(wc)
    library.apply(Gesture(K.DELETE_TEXT_REGION, wc, {"text_region": region}))
    library.apply(Gesture(K.RESTORE_VERSION, wc, {"version": hist[-1]["version"]}))
    assert texts(library, project) == wanted
    assert version["edit"]["text_regions"] == wanted


def test_devices_converge_whatever_the_order(make_library):
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    b.merge_remote(a.gestures())
    region, el = add_text(a, wc)
    b.merge_remote(a.gestures())
    # Concurrent edits of the same element and of its region on both devices.
    a.apply(Gesture(K.UPDATE_TEXT_ELEMENT, wc, {"text_region": region, "text_element": el, "text": "A"}))
    b.apply(Gesture(K.UPDATE_TEXT_ELEMENT, wc, {"text_region": region, "text_element": el, "color": "#00FF00"}))
    b.apply(Gesture(K.ADD_TEXT_ELEMENT, wc, {"text_region": region, "text": "B"}))
    a.apply(Gesture(K.DELETE_TEXT_REGION, wc, {"text_region": region}))
    a.undo(project)
    a.merge_remote(b.gestures())
    b.merge_remote(a.gestures())
    assert a.project_json(project) == b.project_json(project)
    # A third library receiving everything in another order agrees byte for byte.
    c = make_library("c")
    c.merge_remote(list(reversed(b.gestures())))
    assert c.project_json(project) == a.project_json(project)


BAD = [
    ({"text": ""}, "text must not be empty"),
    ({"text": "   "}, "text must not be empty"),
    ({"size": 0}, "size must be > 0"),
    ({"size": 0.6}, "size must be <= 0.5"),
    ({"font": "comic-sans"}, "font must be one of condensed, sans, serif, cjk"),
    ({"preset": "centre"}, "preset must be one of top-left"),
    ({"color": "red"}, "color must be a colour like"),
    ({"x": 1.5}, "x must be <= 1"),
    ({"fade_in": -1}, "fade_in must be >= 0"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _c, m in BAD])
def test_bad_elements_are_refused_and_change_nothing(library, change, message):
    _raw, project, wc = seed_clip(library)
    region, el = add_text(library, wc)
    before = library.project_json(project)
    with pytest.raises(GestureError, match=message):
        library.apply(Gesture(K.ADD_TEXT_ELEMENT, wc, {"text_region": region, "text": "x", **change}))
    with pytest.raises(GestureError, match=message):
        library.apply(Gesture(K.UPDATE_TEXT_ELEMENT, wc, {"text_region": region, "text_element": el, **change}))
    assert library.project_json(project) == before


def test_bad_regions_are_refused(library):
    _raw, project, wc = seed_clip(library)  # a 6 s clip
    with pytest.raises(GestureError, match="end must be after start"):
        library.apply(Gesture(K.ADD_TEXT_REGION, wc, {"start": 2.0, "end": 2.0}))
    with pytest.raises(GestureError, match="beyond the clip's end"):
        library.apply(Gesture(K.ADD_TEXT_REGION, wc, {"start": 2.0, "end": 9.0}))
    with pytest.raises(GestureError, match="unknown text region"):
        library.apply(Gesture(K.ADD_TEXT_ELEMENT, wc, {"text_region": "01900000-0000-7000-8000-000000000000",
                                                       "text": "x"}))
    with pytest.raises(GestureError, match="payload needs one of"):
        library.apply(Gesture(K.UPDATE_TEXT_ELEMENT, wc, {"text_region": "01900000-0000-7000-8000-000000000000",
                                                          "text_element": "01900000-0000-7000-8000-000000000001"}))
    assert texts(library, project) == []


def _cli(capsys, lib, *args):
    code = main(["--library", str(lib.root), "--json", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_payloads_of_the_issue(capsys, library):
    _raw, project, wc = seed_clip(library)
    code, out, err = _cli(capsys, library, "apply", json.dumps(
        {"kind": "add_text_region", "target": wc, "payload": {"start": 0.5, "end": 2.5}}))
    assert code == 0, err
    region = json.loads(out)["created"]["text_region"]
    code, out, err = _cli(capsys, library, "apply", json.dumps(
        {"kind": "add_text_element", "target": wc,
         "payload": {"text_region": region, "text": "GOAL!", "preset": "bottom-center", "size": 0.08,
                     "color": "#FFD400"}}))
    assert code == 0, err
    element = json.loads(out)["created"]["text_element"]
    code, out, err = _cli(capsys, library, "show", project)
    [clip] = json.loads(out)["clips"]
    [r] = clip["edit"]["text_regions"]
    assert r["uid"] == region and r["elements"][0]["uid"] == element and r["elements"][0]["text"] == "GOAL!"

    code, out, err = _cli(capsys, library, "apply", json.dumps(
        {"kind": "add_text_element", "target": wc, "payload": {"text_region": region, "text": "x", "size": 0.9}}))
    assert code != 0 and "size must be <= 0.5" in err
