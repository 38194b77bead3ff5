"""The typed read models the window draws from, against a real library file."""
from __future__ import annotations

from pathlib import Path

from core.enums import AspectRatio, GestureKind
from core.export.jobs import ExportJobs
from core.gestures.model import Gesture
from core.library import Library
from core.reads import read_gallery, read_games, read_jobs, read_reels
from tests.fixtures.library import FAKE_INFO, seed_clip

SECOND_HALF = "cd" * 32


def test_games_list_their_halves_in_playing_order(library: Library) -> None:
    for h, name in ((SECOND_HALF, "second.mp4"), ("ab" * 32, "first.mp4")):
        library.apply(Gesture(GestureKind.IMPORT_MEDIA, h, {"info": FAKE_INFO, "name": name}))
    library.apply(Gesture(GestureKind.CREATE_GAME, None, {"name": "Derby", "media": ["ab" * 32, SECOND_HALF]}))
    (game,) = read_games(library)
    assert (game.name, game.media) == ("Derby", ("ab" * 32, SECOND_HALF))


def test_reels_and_a_gallery_that_outlives_its_reel(library: Library, tmp_path: Path) -> None:
    raw, project, _wc = seed_clip(library, aspect="16:9")  # one 6 s clip
    library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw}))
    (reel,) = read_reels(library)
    assert (reel.name, reel.aspect, reel.clip_count, reel.output_duration, reel.readable) == \
        ("Reel", AspectRatio.LANDSCAPE, 2, 12.0, True)

    jobs = ExportJobs(library)
    finals = []
    for n in range(2):  # two exports: the gallery keeps both versions, newest first
        job = jobs.create(project, start=False)
        assert jobs.claim(job)
        staged = tmp_path / f"staged{n}.mp4"
        staged.write_bytes(b"x" * (n + 1))
        finals.append(jobs.finalize(job, staged, duration=12.0, width=1920, height=1080))
    library.apply(Gesture(GestureKind.DELETE_PROJECT, project, {}))
    assert read_reels(library) == []
    gallery = read_gallery(library)
    assert [(g.video.version, g.project_name, g.video.size_bytes) for g in gallery] == [(2, "Reel", 2), (1, "Reel", 1)]
    assert [g.video for g in gallery] == finals[::-1]
    assert [j.uid for j in read_jobs(library, limit=1)] == [finals[1].job_uid]


def test_a_project_read_again_reads_only_the_clips_not_known(library: Library) -> None:
    raw, project, wc = seed_clip(library)
    other = library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    first = library.show_project(project)
    library.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 2.0}))
    kept = first["clips"][1]
    assert kept["uid"] == other
    known = {other: {"source": kept["source"], "edit": kept["edit"], "output_duration": kept["output_duration"]}}
    again = library.show_project(project, known=known)
    assert again == library.show_project(project)  # the same document as a full read
    assert again["clips"][1]["edit"] is kept["edit"]  # the known clip's document, not read again
    assert again["clips"][0]["edit"]["rotation"] == 2.0
