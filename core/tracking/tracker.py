"""Following one player through frames: OpenCV's KCF tracker, a constant-velocity Kalman filter
and a re-association gate.

KCF alone latches onto whatever looks most like its model, and a team-mate in the same kit
looks exactly like it: when the two cross, it may leave with the wrong one. So every frame the
candidates (KCF's box and the best template matches around the predicted position) are scored
by appearance AND by how well they fit the motion the player had before; the winner corrects the
Kalman filter, and KCF is re-seeded when it went astray. With no candidate that both looks like
the player and sits where the player can be, the filter coasts; after a short while of that the
player is declared lost and tracking stops instead of following someone else.

Large players are tracked on downscaled frames (speed), small ones at full resolution (KCF and
template matching need the pixels).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.editmath.box import Box

log = logging.getLogger(__name__)

# The height a player is tracked at: taller ones are downscaled to it, shorter ones kept as is.
WORK_HEIGHT_PX = 24.0
MIN_SCALE = 0.25
# A template match must reach this normalised correlation to count as the player, and come
# within MATCH_DROP of how well the player usually matches (a patch of pitch can reach 0.6).
MIN_MATCH = 0.5
MATCH_DROP = 0.15
# Coasting (no acceptable candidate) longer than this declares the player lost.
MAX_COAST_S = 0.5
# Up to this many template-match peaks are candidates besides KCF's own box.
PEAKS = 3
# The template follows slow appearance changes only while no look-alike is near.
TEMPLATE_RATE = 0.05
# A look-alike within this many player heights makes the position contested: measurements then
# barely move the motion model (it may be the other player), for a while after they merge too.
CROWD_HEIGHTS = 2.0
CONTEST_S = 0.5
CONTEST_DOUBT = 30.0


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """Where the player is in one frame: box centre and size in source pixels."""

    frame: int  # index relative to the start frame (negative going backwards)
    cx: float
    cy: float
    width: float
    height: float
    confidence: float  # 0..1: appearance match of the accepted position


def _gray(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)


class _Kalman:
    """Constant-velocity model on the box centre (state x, y, vx, vy per frame)."""

    def __init__(self, cx: float, cy: float, size: float) -> None:
        self.x = np.array([cx, cy, 0.0, 0.0])
        self.P = np.diag([size, size, size, size]) ** 2 * 0.05
        self.F = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
        self.H = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=float)
        # Players change pace slowly against the frame rate; measurements jitter by a few px.
        q = 0.02 * size
        self.Q = np.diag([q * q, q * q, (0.5 * q) ** 2, (0.5 * q) ** 2])
        r = 0.08 * size
        self.R = np.diag([r * r, r * r])

    def predict(self) -> np.ndarray:
        self.x = self.F @ self.x
        self.P = self.F @ self.P @ self.F.T + self.Q
        return self.x[:2].copy()

    def gate(self) -> float:
        """Radius (px) around the prediction a measurement may fall in: 3 sigma, at least a bit."""
        s = self.H @ self.P @ self.H.T + self.R
        return 3.0 * math.sqrt(max(s[0, 0], s[1, 1]))

    def correct(self, z: np.ndarray, doubt: float = 1.0) -> None:
        """Fold in a measurement; ``doubt`` scales its variance (a contested one moves us less)."""
        s = self.H @ self.P @ self.H.T + self.R * doubt
        k = self.P @ self.H.T @ np.linalg.inv(s)
        self.x = self.x + k @ (z - self.H @ self.x)
        self.P = (np.eye(4) - k @ self.H) @ self.P


def _kcf() -> cv2.Tracker:
    # KCF rather than CSRT: CSRT costs 20-100 ms a frame here, KCF about 2 ms, and the
    # re-association below supplies the robustness CSRT's richer model would.
    # TrackerKCF is an opencv-contrib class: the opencv stubs do not declare it.
    params = cv2.TrackerKCF_Params()  # type: ignore[attr-defined]  # contrib, absent from the stubs
    params.desc_pca = cv2.TrackerKCF_CN | cv2.TrackerKCF_GRAY  # kit colour matters
    tracker: cv2.Tracker = cv2.TrackerKCF_create(params)  # type: ignore[attr-defined]  # contrib, as above
    return tracker


def working_scale(box_height: float) -> float:
    """The scale frames are tracked at for a player ``box_height`` source pixels tall. Nearly
    full size is full size: converting without scaling is much cheaper than a slight scale."""
    scale = min(1.0, max(MIN_SCALE, WORK_HEIGHT_PX / max(box_height, 1.0)))
    return 1.0 if scale > 0.8 else scale


class PlayerTracker:
    """Feed frames one by one with :meth:`step`; it answers the player's box or None once lost.

    Frames are BGR at ``scale`` times the source size (decode them at that size: see
    :func:`working_scale`); boxes in and out are in source pixels.
    """

    def __init__(self, frame: np.ndarray, box: Box, fps: float, scale: float = 1.0) -> None:
        self.scale = s = scale
        self._w, self._h = box.width * s, box.height * s
        cx, cy = (box.x + box.width / 2) * s, (box.y + box.height / 2) * s
        self._kcf = _kcf()
        self._kcf.init(frame, self._rect(cx, cy))
        template = self._patch(frame, cx, cy)
        if template is None:
            raise ValueError("the player's box must lie inside the frame")
        self._template: np.ndarray = template
        self._reference = template.copy()
        self._kf = _Kalman(cx, cy, self._h)
        self._max_coast = max(3, round(MAX_COAST_S * fps))
        self._contest_frames = max(3, round(CONTEST_S * fps))
        self._coast = 0
        self._contest = 0
        self._age = 0  # measurements accepted so far
        self._typical = 1.0  # running mean of the accepted matches' scores
        self.lost = False

    # -- geometry helpers (all in working pixels) --------------------------------------------
    def _rect(self, cx: float, cy: float) -> tuple[int, int, int, int]:
        return (round(cx - self._w / 2), round(cy - self._h / 2), max(2, round(self._w)), max(2, round(self._h)))

    def _patch(self, frame: np.ndarray, cx: float, cy: float) -> np.ndarray | None:
        """The grey box at a centre, or None where it leaves the frame."""
        x, y, w, h = self._rect(cx, cy)
        if x < 0 or y < 0 or x + w > frame.shape[1] or y + h > frame.shape[0]:
            return None
        return _gray(frame[y:y + h, x:x + w])

    # -- tracking ------------------------------------------------------------------------------
    def step(self, frame: np.ndarray, index: int) -> TrackPoint | None:
        """The player's box in ``frame`` (source pixels), or None when lost (then stays lost)."""
        if self.lost:
            return None
        pred = self._kf.predict()
        gate = max(self._kf.gate(), 0.15 * self._h)
        ok, rect = self._kcf.update(frame)
        candidates = self._matches(frame, pred, gate)
        crowd = sum(1 for c, _s in candidates if np.hypot(*(c - pred)) < CROWD_HEIGHTS * self._h)
        kcf_centre = np.array([rect[0] + rect[2] / 2, rect[1] + rect[3] / 2]) if ok else None
        if kcf_centre is not None:
            score = self._score(frame, kcf_centre)
            if score is not None:
                candidates.append((kcf_centre, score))
        if crowd >= 2:
            self._contest = self._contest_frames
        elif self._contest:
            self._contest -= 1
        best = self._choose(candidates, pred, gate)
        if best is None:
            self._coast += 1
            if self._coast > self._max_coast:
                self.lost = True
                log.info("player lost at frame %d", index)
                return None
            cx, cy = pred
            confidence = 0.0
        else:
            centre, confidence = best
            self._coast = 0
            self._typical = 0.9 * self._typical + 0.1 * confidence
            # Doubt contested measurements only once the motion is known: before that there
            # is no prediction to trust instead.
            self._age += 1
            doubt = CONTEST_DOUBT if self._contest and self._age > self._contest_frames else 1.0
            self._kf.correct(centre, doubt)
            cx, cy = self._kf.x[:2]
            if kcf_centre is None or np.hypot(*(kcf_centre - centre)) > 0.25 * self._h:
                self._kcf = _kcf()  # KCF left with a look-alike or lost it: re-seed on the player
                self._kcf.init(frame, self._rect(*centre))
            self._adapt(frame, centre, candidates)
        s = self.scale
        return TrackPoint(index, float(cx) / s, float(cy) / s, self._w / s, self._h / s, float(confidence))

    def _score(self, frame: np.ndarray, centre: np.ndarray) -> float | None:
        patch = self._patch(frame, *centre)
        if patch is None:
            return None
        return float(cv2.matchTemplate(patch, self._template, cv2.TM_CCOEFF_NORMED)[0, 0])

    def _matches(self, frame: np.ndarray, pred: np.ndarray, gate: float) -> list[tuple[np.ndarray, float]]:
        """Template-match peaks in a window around the prediction: (centre, score), best first."""
        th, tw = self._template.shape
        r = gate + max(tw, th)
        x0, y0 = max(0, int(pred[0] - r - tw / 2)), max(0, int(pred[1] - r - th / 2))
        x1, y1 = min(frame.shape[1], int(pred[0] + r + tw / 2) + 1), min(frame.shape[0], int(pred[1] + r + th / 2) + 1)
        if x1 - x0 <= tw or y1 - y0 <= th:
            return []
        response = cv2.matchTemplate(_gray(frame[y0:y1, x0:x1]), self._template, cv2.TM_CCOEFF_NORMED)
        out = []
        for _ in range(PEAKS):
            _lo, score, _lo_at, (px, py) = cv2.minMaxLoc(response)
            if score < MIN_MATCH:
                break
            out.append((np.array([x0 + px + (tw - 1) / 2, y0 + py + (th - 1) / 2]), float(score)))
            # Suppress this peak's neighbourhood so the next one is another object.
            cv2.rectangle(response, (px - tw // 2, py - th // 2), (px + tw // 2, py + th // 2), -1.0, -1)
        return out

    def _choose(self, candidates: list[tuple[np.ndarray, float]], pred: np.ndarray,
                gate: float) -> tuple[np.ndarray, float] | None:
        """The candidate that best fits both appearance and motion, inside the gate."""
        best, best_cost = None, math.inf
        for centre, score in candidates:
            d = float(np.hypot(*(centre - pred)))
            if d > gate or score < MIN_MATCH:
                continue
            if score < self._typical - MATCH_DROP:
                continue
            cost = d / gate + (1.0 - score)
            if cost < best_cost:
                best, best_cost = (centre, score), cost
        return best

    def _adapt(self, frame: np.ndarray, centre: np.ndarray, candidates: list[tuple[np.ndarray, float]]) -> None:
        """Blend the current look into the template, unless a look-alike is close (crossing)."""
        near = sum(1 for c, _s in candidates if np.hypot(*(c - centre)) > 0.5 * self._h
                   and np.hypot(*(c - centre)) < 3.0 * self._h)
        if near:
            return
        patch = self._patch(frame, *centre)
        if patch is not None:
            # Anchored to the first look so slow drift cannot walk the template onto the pitch.
            self._template = (1 - TEMPLATE_RATE) * self._template + TEMPLATE_RATE * (
                0.5 * patch + 0.5 * self._reference)
