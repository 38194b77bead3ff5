"""What the Library page (and the tag field's completions) list, read on a worker as plain data (no
widgets): the panels hand these reads to a ``LatestRead`` and only build their items from the result
on the UI thread. On a season's library the clip read alone is ~100 ms, which would otherwise stall
every change event.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from core.library import Library
from core.reads import GalleryVideo, GameSummary, read_gallery, read_games
from desktop.ui.undo import fmt_time


class ListRead(str, Enum):
    """The panels' list reads: each one's newest request wins on its own."""

    CLIPS = "clips"
    FOOTAGE = "footage"
    REELS = "reels"
    GALLERY = "gallery"
    TAGS = "tags"


def clip_title(clip: dict[str, Any]) -> str:
    """What a raw clip is called on screen (and found by in the search field)."""
    return clip["name"] or "Untitled clip"


@dataclass(frozen=True, slots=True)
class ClipRow:
    data: dict[str, Any]  # the raw clip with its media's name (what the card draws and the filter reads)
    search: str  # casefolded name, notes, media name and tags
    tooltip: str


@dataclass(frozen=True, slots=True)
class ClipListing:
    media: dict[str, dict[str, Any]]  # by hash
    clips: list[ClipRow]
    tags: list[str]  # every tag in use, sorted for people


@dataclass(frozen=True, slots=True)
class Footage:
    games: list[GameSummary]
    clip_counts: dict[str, int]  # by media hash
    on_machine: frozenset[str]  # media hashes whose file is in this library folder


def read_clip_listing(library: Library) -> ClipListing:
    media = {mm["hash"]: mm for mm in library.media_list()}
    rows: list[ClipRow] = []
    tags: set[str] = set()
    for c in library.raw_clips():
        c = {**c, "media_name": media.get(c["media_hash"], {}).get("name", "")}
        tags.update(c["tags"])
        search = " ".join([clip_title(c), c["notes"], c["media_name"], *c["tags"]]).casefold()
        rows.append(ClipRow(c, search, _clip_tooltip(c)))
    return ClipListing(media, rows, sorted(tags, key=str.casefold))


def _clip_tooltip(c: dict[str, Any]) -> str:
    lines = [f"<b>{clip_title(c)}</b>",
             f"{c['media_name']}  {fmt_time(c['start'])} – {fmt_time(c['end'])}"]
    if c["tags"]:
        lines.append(" ".join(f"#{t}" for t in c["tags"]))
    if c["notes"]:
        lines.append(c["notes"][:300])
    return "<br>".join(lines)


def read_tags(library: Library) -> list[str]:
    """Every tag in use, sorted for people."""
    return sorted({t for c in library.raw_clips() for t in c["tags"]}, key=str.casefold)


def read_footage(library: Library, listing: ClipListing) -> Footage:
    """Games, how many clips each media has and which media files are here (a disk check per file)."""
    counts: dict[str, int] = {}
    for row in listing.clips:
        h = row.data["media_hash"]
        counts[h] = counts.get(h, 0) + 1
    here = frozenset(h for h in listing.media if library.media_path(h).is_file())
    return Footage(read_games(library), counts, here)


def read_gallery_listing(library: Library) -> list[tuple[GalleryVideo, bool]]:
    """Final videos, newest first, each with whether its file is on this machine."""
    return [(entry, Path(entry.video.path).is_file()) for entry in read_gallery(library)]
