"""The library's media check: files on this device that no longer match what was imported.

A file truncated (or grown) after import would export with a frozen, silent tail; the size
recorded at import tells it in one stat per file, without reading gigabytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.library import Library

__all__ = ["DamagedMedia", "damaged_media"]


@dataclass(frozen=True, slots=True)
class DamagedMedia:
    hash: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name or 'media'} ({self.hash[:12]}): {self.reason}"


def damaged_media(library: Library) -> list[DamagedMedia]:
    """Media whose local copy differs in size from the imported file. Media not downloaded to
    this device are not damaged (sync fetches them)."""
    found = []
    for media in library.media_list():
        path = library.media_path(media["hash"])
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        except OSError as e:
            found.append(DamagedMedia(media["hash"], media["name"], f"cannot be read: {e.strerror}"))
            continue
        expected = media["size_bytes"]
        if expected and size != expected:
            found.append(DamagedMedia(media["hash"], media["name"],
                                      f"{size} bytes on disk, {expected} imported: truncated or "
                                      f"changed; import the original again"))
    return found
