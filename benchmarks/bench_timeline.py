"""Timeline repaint speed: a 2-hour game with 300 marked clips against an empty timeline.

    QT_QPA_PLATFORM=offscreen python -m benchmarks.bench_timeline [--repeats 60] [--width 1600]

Each repaint renders the whole view (``QGraphicsView.render``: drawBackground + drawForeground,
no background cache) into a QImage, the worst case of a full repaint. Scenes, measured side by
side in one run (these machines are noisy; the ratios are what counts):

- empty: a timeline with nothing loaded;
- game at fit: 2 h, 300 clips, thumbnails every 30 s and 10 peaks/s of audio, all in view;
- game zoomed: the same at ~2 minutes in view, scrolled to a different place each repaint;
- playhead only: what playback costs per tick (the cached background plus two thin strips).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from fractions import Fraction

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from desktop.ui import theme
from desktop.ui.timeline import TimelineView

GAME_S = 2 * 3600.0
FPS = Fraction(30000, 1001)


def game_clips(n: int, seed: int = 11) -> list[dict[str, object]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        start = rnd.uniform(0.0, GAME_S - 60.0)
        out.append({"uid": f"clip-{i:03d}", "start": start, "end": start + rnd.uniform(4.0, 45.0),
                    "rating": rnd.randint(0, 5), "name": f"Play {i}"})
    return out


def thumbnails(every_s: float) -> list[tuple[float, QImage]]:
    out = []
    for i in range(int(GAME_S / every_s)):
        image = QImage(96, 54, QImage.Format.Format_RGB32)
        image.fill(theme.RATING_COLORS[i % len(theme.RATING_COLORS)])
        out.append((i * every_s, image))
    return out


def median_ms(view: TimelineView, repeats: int, before_each: Callable[[int], None] | None = None) -> float:
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    times = []
    for i in range(repeats + 3):
        if before_each is not None:
            before_each(i)
        painter = QPainter(image)
        t0 = time.perf_counter()
        view.render(painter)
        painter.end()
        if i >= 3:  # warm-up: fonts, pixmap conversions
            times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def playhead_ms(view: TimelineView, app: QApplication, repeats: int) -> float:
    """A playback tick: move the playhead, let the view repaint what changed."""
    times = []
    start = view.visible_range()[0]
    span = view.visible_range()[1] - start
    for i in range(repeats + 3):
        t0 = time.perf_counter()
        view.set_playhead(start + span * ((i * 0.37) % 1.0))
        view.viewport().repaint()
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000.0)
    app.processEvents()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--clips", type=int, default=300)
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_dark_theme(app)  # type: ignore[arg-type]

    empty = TimelineView()
    empty.resize(args.width, 220)
    empty.show()
    game = TimelineView()
    game.resize(args.width, 220)
    game.show()
    game.set_media(GAME_S, FPS, game_clips(args.clips))
    game.set_thumbnails(thumbnails(30.0))
    rng = np.random.default_rng(5)
    game.set_peaks(np.clip(np.abs(rng.normal(0.2, 0.12, int(GAME_S * 10))), 0, 1).astype(np.float32), 10)
    game.set_playhead(GAME_S / 3)
    app.processEvents()

    rows: list[tuple[str, float, float]] = []
    empty_ms = median_ms(empty, args.repeats)
    fit_ms = median_ms(game, args.repeats)
    rows.append(("full repaint, fit (2 h in view)", empty_ms, fit_ms))

    game.zoom_in(60.0)
    empty.zoom_in(60.0)
    bar = game.horizontalScrollBar()
    rnd = random.Random(3)

    def scroll(_i: int) -> None:
        bar.setValue(rnd.randint(bar.minimum(), bar.maximum()))

    zoom_empty = median_ms(empty, args.repeats)
    zoom_ms = median_ms(game, args.repeats, scroll)
    rows.append((f"full repaint, zoomed ({game.visible_range()[1] - game.visible_range()[0]:.0f} s in view)",
                 zoom_empty, zoom_ms))

    game.zoom_to_fit()
    app.processEvents()
    rows.append(("playback tick (playhead move)", playhead_ms(empty, app, args.repeats),
                 playhead_ms(game, app, args.repeats)))

    out = sys.stdout
    out.write(f"Timeline repaint, {args.width}x220 px, median of {args.repeats} "
              f"(game: {GAME_S / 3600:.0f} h, {args.clips} clips, thumbnails, waveform)\n")
    out.write(f"{'scene':44s} {'empty ms':>10s} {'game ms':>10s} {'ratio':>7s}\n")
    for name, a, b in rows:
        out.write(f"{name:44s} {a:10.2f} {b:10.2f} {b / a if a > 0 else float('nan'):6.1f}x\n")
    out.flush()
    empty.close()
    game.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
