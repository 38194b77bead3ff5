"""The gesture registry: every kind complete in one entry, unregistered kinds refused loudly, and
state keys formatted by one module only."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.enums import GestureKind
from core.gestures import keys, registry
from core.gestures.fold import step
from core.gestures.model import Gesture, GestureError, ScopeKind
from core.gestures.registry import REGISTRY, EntityRule, GestureSpec
from core.gestures.state import ScopeState
from core.library import Library
from tests.fixtures.library import seed_clip

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", list(GestureKind), ids=lambda k: k.value)
def test_every_kind_has_a_complete_entry(kind: GestureKind) -> None:
    spec = REGISTRY[kind]
    assert isinstance(spec, GestureSpec) and spec.kind is kind
    assert isinstance(spec.entity, EntityRule) and isinstance(spec.scope, ScopeKind)
    assert callable(spec.fold)
    assert spec.normalize is None or callable(spec.normalize)
    assert spec.label.strip() and spec.label[0].isupper()
    assert all(callable(f.check) for f in spec.fields.values())
    assert set(spec.at_least_one) <= set(spec.fields)
    if spec.ordered:
        assert {"start", "end"} <= set(spec.fields)


def test_an_unregistered_kind_is_refused_loudly_not_folded_as_nothing(
        library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    _raw, project, wc = seed_clip(library)
    before = library.project_json(project)
    monkeypatch.delitem(REGISTRY, GestureKind.SET_ROTATION)
    with pytest.raises(GestureError, match="set_rotation"):
        library.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}))
    with pytest.raises(GestureError, match="set_rotation"):
        step(ScopeState(ScopeKind.PROJECT), Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}, op_id="x",
                                                    device_id="d", lamport=1))
    assert library.project_json(project) == before
    with pytest.raises(RuntimeError, match="set_rotation"):
        registry._check_complete()


def test_only_the_keys_module_formats_state_keys() -> None:
    heads = "|".join(sorted(h.value for h in keys.Head))
    pattern = re.compile(r"""f["'](?:%s)/\{""" % heads)
    offenders = []
    for folder in ("core", "sync", "desktop"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "keys.py" and path.parent.name == "gestures":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
