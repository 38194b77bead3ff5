"""Detection on Modal without Modal: the app's function through ``.local()`` with an injected
model on real decoded frames, the client's spawn/poll/cancel against a fake, the cache, and the
weights check on the real loading path."""
from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from core.tracking import modal_detect
from core.tracking.detect_client import DetectCancelled, DetectionCache, detect_frames
from core.tracking.modal_detect import WeightsError, load_detector, verify_weights
from tests.fixtures.pitch import PitchScene


@pytest.fixture(scope="module")
def pitch(tmp_path_factory) -> tuple[PitchScene, Path]:
    scene = PitchScene(width=320, height=180, player_h=24.0, seconds=0.5, others=0, crossing=False)
    return scene, scene.write(tmp_path_factory.mktemp("det") / "pitch.mp4")


def red_shirts(rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """A stand-in model that 'detects' the red kit in the decoded pixels (so frames are real)."""
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    ys, xs = np.nonzero((r > 150) & (g < 100) & (b < 100))
    if len(xs) == 0:
        return []
    return [(float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1), 0.9)]


def test_function_runs_locally_and_returns_source_pixel_boxes(pitch):
    scene, path = pitch
    out = modal_detect.detect_people.local("job-1", path.as_uri(), [0, 6], 30, 1, detector=red_shirts)
    assert set(out) == {"0", "6"}
    for f in (0, 6):
        (x, y, w, h, conf) = out[str(f)][0]
        tx, ty = scene.truth[f]
        assert abs(x + w / 2 - tx) < 4 and conf == 0.9  # the shirt sits on the truth, in source pixels
    assert modal_detect.LOCAL_PROGRESS["job-1"] == {"done": 2, "total": 2}


class FakeCall:
    def __init__(self, run) -> None:
        self._run, self.cancelled, self.polls = run, False, 0

    def get(self, timeout: float = 0):
        self.polls += 1
        if self.polls < 3:
            raise TimeoutError()
        return self._run()

    def cancel(self) -> None:
        self.cancelled = True


class FakeModal:
    def __init__(self) -> None:
        self.spawned: list[tuple] = []
        self.calls: list[FakeCall] = []

    def function(self, app, name):
        assert (app, name) == (modal_detect.APP_NAME, modal_detect.DETECT_FUNCTION)
        fake = self

        class Function:
            def spawn(self, *args):
                fake.spawned.append(args)
                call = FakeCall(lambda: modal_detect.detect_people.local(*args, detector=red_shirts))
                fake.calls.append(call)
                return call
        return Function()

    def dict(self, name):
        assert name == modal_detect.PROGRESS_DICT
        return modal_detect.LOCAL_PROGRESS


class Presigner:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def media_url(self, media_hash: str, local_path: Path) -> str:
        self.asked.append(media_hash)
        return local_path.as_uri()


def test_client_spawns_polls_and_caches_per_media_and_frame(pitch, tmp_path):
    scene, path = pitch
    fake, presigner, cache = FakeModal(), Presigner(), DetectionCache(tmp_path / "cache")
    got = detect_frames(fake, presigner, cache, "ab" * 32, path, [3, 0], Fraction(30), poll_s=0.001)
    assert sorted(got) == [0, 3] and len(got[0]) == 1 and len(fake.spawned) == 1
    assert fake.spawned[0][2] == [0, 3] and presigner.asked == ["ab" * 32]
    # Cached: asking again for those frames spawns nothing; a new frame spawns for it alone.
    assert detect_frames(fake, presigner, cache, "ab" * 32, path, [0, 3], Fraction(30)) == got
    detect_frames(fake, presigner, cache, "ab" * 32, path, [0, 9], Fraction(30), poll_s=0.001)
    assert len(fake.spawned) == 2 and fake.spawned[1][2] == [9]


def test_cancel_cancels_the_remote_call(pitch, tmp_path):
    _scene, path = pitch
    fake = FakeModal()
    with pytest.raises(DetectCancelled):
        detect_frames(fake, Presigner(), DetectionCache(tmp_path), "cd" * 32, path, [0], Fraction(30),
                      cancelled=lambda: True)
    assert fake.calls[0].cancelled
    assert DetectionCache(tmp_path).get("cd" * 32, [0]) == {}


def test_real_loader_checks_the_pinned_checksum_before_building(tmp_path):
    weights = tmp_path / "tiny.pth"
    weights.write_bytes(b"not really a model, but bytes with a known digest")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    built: list[Path] = []

    def build(p: Path):
        built.append(p)
        return red_shirts

    assert load_detector(weights, digest, build) is red_shirts and built == [weights]
    with pytest.raises(WeightsError, match="no full SHA-256 is pinned"):
        load_detector(weights, digest[:8], build)  # a prefix (torchvision's file name) is not a pin
    with pytest.raises(WeightsError, match="do not match the pinned SHA-256"):
        load_detector(weights, "0" * 64, build)
    with pytest.raises(WeightsError, match="cannot be read"):
        verify_weights(tmp_path / "absent.pth", digest)
    with pytest.raises(WeightsError, match="no full SHA-256 is pinned"):
        verify_weights(weights, "")
    assert built == [weights]  # a file that failed the check never reached the model


def test_the_shipped_detector_weights_are_pinned_by_their_full_digest():
    from core.tracking.modal_detect import WEIGHTS_SHA256, WEIGHTS_URL

    assert len(WEIGHTS_SHA256) == 64 and all(c in "0123456789abcdef" for c in WEIGHTS_SHA256)
    assert WEIGHTS_URL.endswith(f"-{WEIGHTS_SHA256[:8]}.pth")  # the file torchvision names by it


def test_the_default_loader_refuses_weights_that_are_not_the_pinned_file(tmp_path):
    weights = tmp_path / "fasterrcnn.pth"
    weights.write_bytes(b"\0" * 64)
    with pytest.raises(WeightsError):
        load_detector(weights)  # the real path: the checksum stops it before torch is touched
