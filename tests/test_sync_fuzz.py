"""Property tests: the batch decoder and the merge of remote gestures, fed arbitrary input.

The decoder either returns gestures or raises FormatError; the merge either applies a gesture or
refuses it with GestureError before writing, and what it applied never breaks a reader (or points a
media path outside the library); the snapshot reader either yields gestures or raises FormatError.
Any other exception fails. 1,000 examples per property, each a few milliseconds.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.enums import GestureKind
from core.gestures.model import GestureError
from core.gestures.registry import REGISTRY
from core.ids import new_uid
from core.library import Library
from sync.codec import FormatError, SnapshotReader, decode_batch, encode_batch, gzip_json
from tests.fixtures.library import FAKE_HASH, seed_clip

UID, DEV = new_uid(), new_uid()
FIXED_UIDS = [new_uid() for _ in range(3)]
# 1,000 examples per property, derandomized: CI runs the same examples every time (no flaky red).
_FUZZ = settings(max_examples=1000, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                    st.sampled_from([FAKE_HASH, "../../etc/passwd", "9:16", "start", *FIXED_UIDS]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(["time", "x", "y", "width", "height", "rx", "ry",
                                                              "start", "end", "enabled", "type", "duration",
                                                              "raw_clip", "media", "z"]), inner, max_size=6),
                           max_leaves=12)


# ------------------------------------------------------------------------------ decoder
def _doc(gestures: Any, **over: Any) -> dict[str, Any]:
    doc = {"format": "reeldesk.batch", "v": 1, "library": UID, "device": DEV, "batch": 0, "created_at": "x",
           "gestures": gestures}
    doc.update(over)
    return doc


def _decode(data: bytes) -> None:
    try:
        out = decode_batch(data, library_uid=UID, device_id=DEV, batch=0)
    except FormatError:
        return
    assert out and all(isinstance(g, dict) for g in out)


@_FUZZ
@given(st.binary(max_size=200))
def test_decoder_refuses_arbitrary_bytes_cleanly(data: bytes) -> None:
    _decode(data)
    _decode(gzip.compress(data))


@_FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["op_id", "device_id", "lamport", "kind", "entity", "payload",
                                                 "base_version", "undoes", "extra"]), json_values),
                max_size=3),
       st.dictionaries(st.sampled_from(["format", "v", "library", "device", "batch", "more"]),
                       json_values, max_size=2))
def test_decoder_refuses_arbitrary_documents_cleanly(gestures: list[Any], over: dict[str, Any]) -> None:
    _decode(gzip_json(_doc(gestures, **over)))
    _decode(gzip.compress(json.dumps(_doc(gestures, **over)).encode()[:-3]))


# ------------------------------------------------------------------------------ merge
_KINDS = sorted(GestureKind, key=lambda k: k.value)


@st.composite
def wire_gestures(draw: st.DrawFn, targets: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(_KINDS))
    fields = sorted(REGISTRY[kind].fields)
    if kind in (GestureKind.REVERT, GestureKind.RESTORE_VERSION):
        heads = ["name", "media", "rating", "info", "deleted", "start", "aspect", "tags", "clip", "order", "kf",
                 "rkf", "speed", "region", "style", "trans", "bogus"]
        paths = st.tuples(st.sampled_from(heads),
                          st.lists(st.sampled_from([*targets, *FIXED_UIDS, "start", "x"]), max_size=3)
                          ).map(lambda t: "/".join([t[0], *t[1]]))
        payload: dict[str, Any] = {"patch": draw(st.dictionaries(paths, json_values, max_size=3))}
        if kind is GestureKind.RESTORE_VERSION:
            payload["version"] = draw(st.integers(0, 3))
    else:
        payload = draw(st.dictionaries(st.sampled_from(fields or ["x"]), json_values, max_size=len(fields) + 1))
    return {"op_id": new_uid(), "device_id": DEV, "lamport": draw(st.integers(1, 200)), "kind": kind.value,
            "entity": draw(st.sampled_from(targets + [FAKE_HASH])), "payload": payload,
            "base_version": draw(st.integers(0, 5)), "undoes": None}


def _readers_work(lib: Library, project: str) -> None:
    lib.show_project(project)
    lib.projects(include_deleted=True)
    lib.media_list()
    for clip in lib.raw_clips(include_deleted=True):
        assert lib.media_path(clip["media_hash"]).parent == lib.media_dir


@_FUZZ
@given(data=st.data())
def test_merge_applies_or_refuses_and_never_breaks_a_reader(library: Library, data: st.DataObject) -> None:
    if not library.projects():
        seed_clip(library)
    raw = library.raw_clips()[0]["uid"] if library.raw_clips() else FIXED_UIDS[0]
    project = library.projects(include_deleted=True)[0]["uid"]
    wc = library.show_project(project)["clips"][0]["uid"] if library.show_project(project)["clips"] else raw
    g = data.draw(wire_gestures([project, raw, wc]))
    try:  # the engine's path: the batch object is decoded, then merged (either refusal quarantines it)
        library.merge_remote(decode_batch(encode_batch(UID, DEV, 0, [g]), library_uid=UID, device_id=DEV, batch=0))
    except (FormatError, GestureError):
        pass
    _readers_work(library, project)


@_FUZZ
@given(st.lists(st.builds(dict, lamport=st.integers(-5, 2**64), base_version=st.integers(-5, 2**64),
                          undoes=st.sampled_from([None, "x", FIXED_UIDS[0]])), min_size=1, max_size=3))
def test_decoded_batches_with_odd_numbers_never_escape_validation(library: Library, tweaks: list[dict]) -> None:
    seed = {"op_id": "", "device_id": DEV, "kind": "create_project", "entity": "", "payload": {"name": "P"}}
    gestures = [{**seed, **t, "op_id": new_uid(), "entity": new_uid()} for t in tweaks]
    try:
        decoded = decode_batch(encode_batch(UID, DEV, 0, gestures), library_uid=UID, device_id=DEV, batch=0)
        library.merge_remote(decoded)
    except (FormatError, GestureError):
        pass


@_FUZZ
@given(st.lists(st.one_of(st.binary(max_size=60), json_values.map(lambda v: json.dumps(v).encode())), max_size=4),
       st.booleans())
def test_snapshot_reader_refuses_arbitrary_lines_cleanly(tmp_path: Path, lines: list[bytes], header: bool) -> None:
    head = {"format": "reeldesk.snapshot", "v": 2, "library": UID, "created_by": DEV, "created_at": "x",
            "cursors": {}}
    body = b"\n".join([json.dumps(head).encode()] * header + lines)
    path = tmp_path / "snapshot.json.gz"
    path.write_bytes(gzip.compress(body))
    try:
        with SnapshotReader(path, library_uid=UID) as snap:
            for chunk in snap.chunks():
                assert all(isinstance(g, dict) for g in chunk)
    except FormatError:
        pass
