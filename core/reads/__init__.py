"""Typed read models: what the window shows from the database, as frozen dataclasses.

The desktop never touches SQLAlchemy or ``core.db``; it calls these functions (each takes the
``Library`` and opens one read transaction) and draws what they return.
"""
from __future__ import annotations

from core.reads.gallery import GalleryVideo, read_gallery
from core.reads.games import GameSummary, read_games
from core.reads.jobs import FinalVideoInfo, Job, JobNotFound, read_jobs
from core.reads.reels import ReelSummary, read_reels

__all__ = ["FinalVideoInfo", "GalleryVideo", "GameSummary", "Job", "JobNotFound", "ReelSummary", "read_gallery",
           "read_games", "read_jobs", "read_reels"]
