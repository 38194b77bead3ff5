"""Games from the window: what `reeldesk import --game` does, offered in the GUI.

A dropped full match is footage to annotate, not a clip: files at least ``ui.game_min_seconds``
long (20 minutes by default) that an import brought in as whole-file clips become ONE game
(several long files dropped together are its halves, in the order given), as one undo step, so
Ctrl+Z turns them back into clips. File ▸ Import game… imports chosen files as one named game.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.media.importer import ImportResult, ImportStatus
from desktop.ui.undo import EditorState

GAME_MIN_SETTING = "ui.game_min_seconds"
GAME_MIN_S = 20 * 60.0
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.avi *.m4v *.mts *.m2ts *.ts *.webm);;All files (*)"


def game_threshold(state: EditorState) -> float:
    try:
        return float(state.library.get_setting(GAME_MIN_SETTING) or GAME_MIN_S)
    except ValueError:
        return GAME_MIN_S


def long_footage(state: EditorState, results: list[ImportResult]) -> list[ImportResult]:
    """Newly imported files, not already in a game, long enough to be a match."""
    threshold = game_threshold(state)
    out = []
    for r in results:
        if r.status is not ImportStatus.IMPORTED or r.game or r.media is None:
            continue
        info = state.library.media(r.media)
        if info is not None and float(info["duration"]) >= threshold:
            out.append(r)
    return out


def game_name_for(results: list[ImportResult]) -> str:
    return (results[0].path.stem or "Game")[:200]


def make_game(state: EditorState, results: list[ImportResult], name: str) -> str | None:
    """One game over these files (their whole-file clips removed) as ONE undo step."""
    gestures: list[Gesture] = [Gesture(GestureKind.CREATE_GAME, None, {"name": name,
                                                                      "media": [r.media for r in results]})]
    gestures += [Gesture(GestureKind.DELETE_CLIP, r.clip, {}) for r in results if r.clip]
    applied = state.apply_many(gestures, f"Import “{name}” as a game")
    return applied[0].entity if applied else None


def ask_game_import(parent: QWidget) -> tuple[list[Path], str] | None:
    """File ▸ Import game…: the files (halves in order) and the game's name, or None."""
    files, _f = QFileDialog.getOpenFileNames(parent, "Import a game (pick its halves in order)", str(Path.home()),
                                             VIDEO_FILTER)
    if not files:
        return None
    name, ok = QInputDialog.getText(parent, "Import game", "Name of the game:", text=Path(files[0]).stem[:200])
    if not ok or not name.strip():
        return None
    return [Path(f) for f in files], name.strip()


__all__ = ["GAME_MIN_S", "GAME_MIN_SETTING", "VIDEO_FILTER", "ask_game_import", "game_name_for", "game_threshold",
           "long_footage", "make_game"]
