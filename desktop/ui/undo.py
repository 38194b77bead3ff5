"""Undo/redo: a QUndoStack whose commands map to library gestures (docs/ARCHITECTURE.md, "The path of one gesture").

Every edit the UI makes goes through :meth:`UndoController.apply`: the gesture is applied first
(so a rejected gesture never lands on the stack), then a command is pushed that holds its op_id.
Undo and redo revert exactly the command's own gestures (``library.undo_ops``: inverse gestures
that sync like any other), refused with a status line when a later edit changed the same thing.
With an empty stack (after a restart) Ctrl+Z falls back to the library's per-scope stack.

Repeated nudges (arrow-key crop moves, rotation steps, style sliders) merge into one command
through ``mergeWith`` when they name the same target and key (by identity, not by time); a drag
is one gesture (committed on release) and therefore one step anyway.
"""
from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from core.changes import ChangeSet, EntityKind
from core.enums import AspectRatio, GestureKind
from core.gestures import registry
from core.gestures.model import Gesture, GestureError
from core.library import ApplyResult, Library

log = logging.getLogger(__name__)

_MERGE_ID = 0x52440001  # any constant != -1: QUndoStack only offers merges between equal ids
_MAX_UNDO_CHAIN = 64


def gesture_label(kind: GestureKind, payload: Mapping[str, Any] | None = None) -> str:
    """What the user did, in words (the registry's label; a snapped add reads as a move)."""
    return registry.label(kind, payload)


def history_label(library: Library, kind: str | None, payload: Mapping[str, Any] | None, undoes: str | None) -> str:
    """The label of a logged gesture; an undo names what it undid, and undoing an undo is a redo."""
    depth = 0
    while undoes and depth < _MAX_UNDO_CHAIN:
        target = library.gesture(undoes)
        if target is None:
            break
        depth += 1
        kind, payload, undoes = target.kind.value, target.payload, target.undoes
    what = gesture_label(GestureKind(kind), payload) if kind else "Change"
    if depth == 0:
        return what
    return f"{'Undo' if depth % 2 else 'Redo'} {what}"


class GestureCommand(QUndoCommand):
    """One undo step: the op_ids of one or more already-applied gestures (several after merges or
    a macro). Undo and redo revert exactly these gestures (then the inverses they made), so what
    Ctrl+Z reverts never depends on what a script or the CLI did meanwhile."""

    def __init__(self, controller: "UndoController", text: str, ops: list[str], merge_key: str | None) -> None:
        super().__init__(text)
        self.controller = controller
        self.ops = ops
        self.merge_key = merge_key
        self._first = True  # push() calls redo(): the gestures are already applied

    def id(self) -> int:  # noqa: A003 (Qt's name)
        return _MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt's name)
        # By identity: the same kind on the same target with the same key (one keyframe, one
        # slider), and only with the step right below it (QUndoStack offers nothing else).
        if not isinstance(other, GestureCommand) or other.merge_key != self.merge_key:
            return False
        self.ops.extend(other.ops)
        return True

    def undo(self) -> None:
        self._revert("undo")

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self._revert("redo")

    def _revert(self, verb: str) -> None:
        inverses = self.controller._revert(self.ops, verb, self.text())
        if inverses is None:
            self.setObsolete(True)  # QUndoStack drops it: it can never be replayed
        else:
            self.ops = inverses


class UndoController(QObject):
    """The UI's single write path: apply a gesture, record it for undo, report errors."""

    applied = Signal(object)  # ApplyResult
    message = Signal(str)  # a short line for the status bar

    def __init__(self, library: Library, scope_provider: Callable[[], str | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.scope_provider = scope_provider  # the open project: fallback undo after a restart
        self.stack = QUndoStack(self)
        self.stack.setUndoLimit(500)

    # -- applying --------------------------------------------------------------------------------
    def apply(self, gesture: Gesture, *, merge_key: str | None = None, text: str | None = None) -> ApplyResult:
        """Apply one gesture and push it as an undo step. Raises GestureError (caller shows it)."""
        return self.record(gesture, self.library.apply(gesture), merge_key=merge_key, text=text)

    def record(self, gesture: Gesture, result: ApplyResult, *, merge_key: str | None = None,
               text: str | None = None) -> ApplyResult:
        """Push a gesture applied elsewhere (on the write worker) as an undo step."""
        if result.duplicate:
            return result
        label = text or self._label(gesture, result)
        key = f"{gesture.kind.value}:{gesture.entity_uid}:{merge_key}" if merge_key else None
        self.stack.push(GestureCommand(self, label, [result.op_id], key))
        self.applied.emit(result)
        return result

    def _label(self, gesture: Gesture, result: ApplyResult) -> str:
        if gesture.kind is GestureKind.ADD_CROP_KEYFRAME:  # did the library snap it onto a keyframe?
            logged = self.library.gesture(result.op_id)
            return gesture_label(gesture.kind, logged.payload if logged else None)
        return gesture_label(gesture.kind, gesture.payload)

    def record_group(self, results: list[ApplyResult], text: str) -> None:
        """Push gestures applied elsewhere (on the write worker) as ONE undo step."""
        ops = [r.op_id for r in results if not r.duplicate]
        if ops:
            self.stack.push(GestureCommand(self, text, ops, None))
        for r in results:
            self.applied.emit(r)

    def apply_many(self, gestures: list[Gesture | Callable[[list[ApplyResult]], Gesture]],
                   text: str) -> list[ApplyResult]:
        """A macro: several gestures as ONE undo step (e.g. "create reel from selected clips").

        Gestures are built lazily when callables are given, so later ones can use earlier results.
        """
        results: list[ApplyResult] = []
        try:
            for g in gestures:
                results.append(self.library.apply(g(results) if callable(g) else g))
        finally:  # what was applied stays undoable even when a later gesture failed
            self.record_group(results, text)
        return results

    # -- undo / redo -----------------------------------------------------------------------------
    def undo(self) -> bool:
        if self.stack.canUndo():
            self.stack.undo()
            return True
        scope = self.scope_provider()
        if scope and self.library.undo(scope) is not None:  # older work, e.g. before a restart
            self.message.emit("Undone")
            return True
        self.message.emit("Nothing to undo")
        return False

    def redo(self) -> bool:
        if self.stack.canRedo():
            self.stack.redo()
            return True
        scope = self.scope_provider()
        if scope and self.library.redo(scope) is not None:
            self.message.emit("Redone")
            return True
        self.message.emit("Nothing to redo")
        return False

    def _revert(self, ops: list[str], verb: str, what: str) -> list[str] | None:
        """Revert ``ops`` (a step's own gestures); the op_ids of the inverses, or None when refused."""
        try:
            return [r.op_id for r in self.library.undo_ops(ops)]
        except GestureError as exc:  # stale: a later edit changed the same thing
            self.message.emit(f"Could not {verb} {what}: {exc}")
        except Exception:
            log.exception("%s of %s failed", verb, ops)
            self.message.emit(f"Could not {verb}; details are in the log")
        return None


def fmt_time(seconds: float | None, *, precise: bool = True) -> str:
    """Time code for labels: 1:02:03.45 / 02:03.45 (hundredths; whole seconds unless precise)."""
    if seconds is None:
        return "--:--"
    seconds = max(0.0, float(seconds))
    h, rem = divmod(seconds, 3600.0)
    m, s = divmod(rem, 60.0)
    sec = f"{s:05.2f}" if precise else f"{int(s):02d}"
    return f"{int(h)}:{int(m):02d}:{sec}" if h >= 1 else f"{int(m):02d}:{sec}"


def fmt_px(value: float) -> str:
    """Whole pixels, halves up, after dropping float noise: a keyframe stored as 607.5 and the same
    crop computed as 607.49999 both read 608 (round() would give 608 and 607 or banker's 608)."""
    return str(math.floor(round(float(value), 3) + 0.5))


class EditorState(QObject):
    """What every panel shares: the library, the write path, and what is open where.

    Times: ``media_time`` is seconds in the open media file (what Playback uses); working-clip
    gestures use clip time (0 = the clip's start in its media), see :meth:`clip_time`.
    Panels never write the library directly: :meth:`apply` goes through the undo controller and
    turns a rejected gesture into one status-bar line instead of an exception.
    """

    projectChanged = Signal(object)  # project uid or None
    clipChanged = Signal(object)  # working clip uid or None
    mediaChanged = Signal(object)  # media hash or None
    rawClipChanged = Signal(object)  # selected raw clip uid or None (Annotate)
    timeChanged = Signal(float)  # media time of the playhead
    seekRequested = Signal(float)  # media time: a panel asks the player to go there
    libraryChanged = Signal(object)  # ChangeSet (union of a turn's commits), on the UI thread
    message = Signal(str, bool)  # text, is_error

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.project_uid: str | None = None
        self.wc_uid: str | None = None
        self.media_hash: str | None = None
        self.raw_clip_uid: str | None = None
        self.media_time = 0.0
        self._project_doc: dict | None = None
        # What of the cached document a change set said changed since it was read: its project's
        # uid and the working clips named with it, or None for all of it.
        self._stale: set[str] | None = None
        self._stale_lock = threading.Lock()
        self._raw_clips: dict[str, dict | None] = {}  # raw clips read, until a change names raw clips
        self.undo = UndoController(library, lambda: self.project_uid, self)
        self.undo.message.connect(lambda text: self.message.emit(text, False))
        # Marked at once on every commit (any thread): a command right after an undo must not read
        # the state from before it. The queued libraryChanged then redraws.
        self._unsubscribe: Callable[[], None] | None = library.subscribe(self._drop_cache)
        from desktop.ui.background import GestureWriter  # (it builds on this module)

        self.writer = GestureWriter(self, self)  # gestures whose result nobody waits for commit off the UI thread

    def _drop_cache(self, event: object) -> None:
        """Mark what ``event`` (a ChangeSet; None: anything) changed of the open project's document;
        forget the raw clips read if it names any (a read begun before the commit stores into the
        forgotten dict)."""
        if not isinstance(event, ChangeSet) or event.touches(EntityKind.RAW_CLIP):
            self._raw_clips = {}
        with self._stale_lock:
            if self._stale is None:
                return
            if not isinstance(event, ChangeSet):
                self._stale = None
                return
            uid = self.project_uid
            if uid in event.of(EntityKind.PROJECT):  # a working clip's change names its project too
                self._stale |= {uid} | event.of(EntityKind.WORKING_CLIP)

    def close(self) -> None:
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except ValueError:
                pass
            self._unsubscribe = None

    # -- writing ---------------------------------------------------------------------------------
    def submit(self, gesture: Gesture, *, merge_key: str | None = None, text: str | None = None,
               optimistic: Callable[[], None] | None = None) -> None:
        """Apply a gesture whose result the caller does not use, on the write worker: the widget (or
        ``optimistic``) shows the change at once, the undo step is recorded when it returns, and a
        refusal reloads the panels and says why. Use :meth:`apply` when the next step needs the result."""
        self.writer.apply(gesture, optimistic=optimistic, merge_key=merge_key, text=text)

    def submit_many(self, gestures: list, text: str, *, optimistic: Callable[[], None] | None = None,
                    on_applied: Callable[[list[ApplyResult]], None] | None = None) -> None:
        """:meth:`submit` for a group that is one undo step (see ``GestureWriter.apply_group``)."""
        self.writer.apply_group(gestures, text, optimistic=optimistic, on_applied=on_applied)

    def apply(self, gesture: Gesture, *, merge_key: str | None = None,
              text: str | None = None) -> ApplyResult | None:
        try:
            return self.undo.apply(gesture, merge_key=merge_key, text=text)
        except GestureError as exc:
            self.message.emit(str(exc), True)
        except Exception:  # the log keeps the traceback; the user gets one line
            log.exception("applying %s failed", gesture.kind.value)
            self.message.emit("That change could not be saved; details are in the log", True)
        return None

    def apply_many(self, gestures: list, text: str) -> list[ApplyResult]:
        try:
            return self.undo.apply_many(gestures, text)
        except GestureError as exc:
            self.message.emit(str(exc), True)
        except Exception:
            log.exception("applying %s failed", text)
            self.message.emit(f"{text} failed; details are in the log", True)
        return []

    def on_library_changed(self, event: object) -> None:
        self._drop_cache(event)
        self.libraryChanged.emit(event)

    # -- what is open ----------------------------------------------------------------------------
    def set_project(self, uid: str | None) -> None:
        if uid == self.project_uid:
            return
        self.project_uid = uid
        with self._stale_lock:
            self._stale = None
        self.projectChanged.emit(uid)
        doc = self.project_doc()
        clips = [c["uid"] for c in doc["clips"]] if doc else []
        self.set_clip(self.wc_uid if self.wc_uid in clips else (clips[0] if clips else None))

    def set_clip(self, wc: str | None) -> None:
        if wc == self.wc_uid:
            return
        self.wc_uid = wc
        clip = self.clip_doc()
        if clip is not None:
            self.set_media(clip["media"])
        self.clipChanged.emit(wc)

    def set_media(self, media_hash: str | None) -> None:
        if media_hash == self.media_hash:
            return
        self.media_hash = media_hash
        self.mediaChanged.emit(media_hash)

    def set_raw_clip(self, uid: str | None) -> None:
        if uid != self.raw_clip_uid:
            self.raw_clip_uid = uid
            self.rawClipChanged.emit(uid)

    def set_media_time(self, t: float) -> None:
        self.media_time = t
        self.timeChanged.emit(t)

    def seek(self, media_t: float) -> None:
        self.seekRequested.emit(media_t)

    def seek_clip(self, clip_t: float) -> None:
        clip = self.clip_doc()
        if clip is not None:
            self.seek(clip["source"]["start"] + clip_t)

    # -- reading ---------------------------------------------------------------------------------
    def project_doc(self) -> dict | None:
        """The open project's latest state (cached until the next change)."""
        uid = self.project_uid
        if uid is None:
            return None
        with self._stale_lock:
            doc, stale = self._project_doc, self._stale
            if doc is not None and stale is not None and not stale:
                return doc
            self._stale = set()  # what commits while this reads is marked again
        # Clips no change named since the cached read are kept; the rest is read.
        known = None if doc is None or stale is None else {
            c["uid"]: {k: c[k] for k in ("source", "edit", "output_duration")}
            for c in doc["clips"] if c["uid"] not in stale}
        try:
            doc = self.library.show_project(uid, known)
        except GestureError:
            self.project_uid = None
            return None
        if doc["project"]["deleted"]:
            with self._stale_lock:
                self._stale = None
            return None
        self._project_doc = doc
        return doc

    def raw_clip(self, uid: str) -> dict | None:
        """A raw clip (``Library.raw_clip``), read once until a change names raw clips."""
        reads = self._raw_clips
        if uid not in reads:
            reads[uid] = self.library.raw_clip(uid)
        return reads[uid]

    def clip_doc(self, wc: str | None = None) -> dict | None:
        wc = wc or self.wc_uid
        doc = self.project_doc()
        if doc is None or wc is None:
            return None
        return next((c for c in doc["clips"] if c["uid"] == wc), None)

    def clip_time(self) -> float | None:
        """The playhead in the open working clip's time, or None when no clip is open."""
        clip = self.clip_doc()
        if clip is None:
            return None
        src = clip["source"]
        return min(max(self.media_time - src["start"], 0.0), src["end"] - src["start"])

    def aspect(self) -> AspectRatio:
        doc = self.project_doc()
        return AspectRatio(doc["project"]["aspect"]) if doc else AspectRatio.PORTRAIT

    def media_info(self, media_hash: str | None = None) -> dict | None:
        h = media_hash or self.media_hash
        return self.library.media(h) if h else None


__all__ = ["EditorState", "GestureCommand", "fmt_px", "fmt_time", "UndoController", "gesture_label", "history_label"]
