"""The licence texts the frozen bundle carries: ReelDesk's own, Python's, every bundled
distribution's (read from its installed metadata), and those of the libraries that wheels embed
without shipping their texts (FFmpeg, x264 and x265 inside PyAV and OpenCV; Qt inside PySide6).

Used by ``installer/reeldesk.spec`` (PyInstaller runs it) and by the tests, which check that every
bundled distribution gets at least one text without building the bundle. Standard library only.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "installer" / "licenses"

# SPDX id -> the full text kept in installer/licenses/.
SPDX_TEXTS = {
    "GPL-2.0": "GPL-2.0.txt",
    "GPL-3.0": "GPL-3.0.txt",
    "LGPL-2.1": "LGPL-2.1.txt",
    "LGPL-3.0": "LGPL-3.0.txt",
}

# Libraries inside the wheels, whose texts the wheels do not carry. PyAV's FFmpeg is configured
# with --enable-version3 (LGPL v3) and links the GPL v2+ encoders x264 and x265, which makes the
# combination GPL; Qt for Python is used under LGPL v3 (which builds on the GPL v3 text).
EMBEDDED: dict[str, tuple[str, ...]] = {
    "FFmpeg": ("LGPL-3.0", "GPL-3.0"),
    "x264": ("GPL-2.0",),
    "x265": ("GPL-2.0",),
    "Qt": ("LGPL-3.0", "GPL-3.0"),
}

_LICENSE_NAME = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)
_SPDX_ID = re.compile(r"\b(L?GPL-[23]\.[01])(?:-only|-or-later|\+)?")


def _top_levels(dist: metadata.Distribution) -> set[str]:
    names = set((dist.read_text("top_level.txt") or "").split())
    names |= {Path(str(f)).parts[0].split(".")[0] for f in (dist.files or ()) if not str(f).startswith("..")}
    return names


def _own_license_files(dist: metadata.Distribution) -> list[Path]:
    """The distribution's licence files: PEP 639 ``License-File`` entries first, else files
    named LICENSE/COPYING/NOTICE/AUTHORS or kept in a ``licenses`` folder of its metadata."""
    declared = set(dist.metadata.get_all("License-File") or ())
    found: list[Path] = []
    for f in dist.files or ():
        if f.suffix in (".py", ".pyc"):
            continue
        named = _LICENSE_NAME.match(f.name) or "licenses" in f.parts[:-1]
        if f.name in declared or str(f).replace("\\", "/").endswith(tuple(declared)) or named:
            path = Path(str(f.locate()))
            if path.is_file():
                found.append(path)
    return found


def _declared_spdx(dist: metadata.Distribution) -> list[str]:
    """SPDX ids of texts we hold that the metadata's licence fields name (wheels without files)."""
    fields = [dist.metadata.get("License-Expression") or "", dist.metadata.get("License") or ""]
    fields += [c for c in dist.metadata.get_all("Classifier") or () if c.startswith("License")]
    ids: list[str] = []
    for text in fields:
        for spdx in _SPDX_ID.findall(text):
            if spdx in SPDX_TEXTS and spdx not in ids:
                ids.append(spdx)
    return ids


def _metadata_notice(dist: metadata.Distribution, folder: Path) -> Path:
    """A small file stating what the distribution's metadata says of its licence and origin."""
    meta = dist.metadata
    lines = [f"{meta['Name']} {meta['Version']}",
             f"License: {meta.get('License-Expression') or meta.get('License') or 'see the project'}"]
    lines += [f"Project: {url}" for url in meta.get_all("Project-URL") or ()]
    if meta.get("Home-page"):
        lines.append(f"Home page: {meta['Home-page']}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{meta['Name']}-METADATA.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def python_license() -> Path:
    if sys.platform.startswith("win"):
        return Path(sys.base_prefix) / "LICENSE.txt"
    return Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "LICENSE.txt"


def license_notices(bundled: Iterable[str], generated: Path) -> list[tuple[str, Path]]:
    """(path inside the bundle, source file) for every licence text the bundle must carry.

    ``bundled`` holds the top-level module names in the bundle; a distribution providing one of
    them is bundled. ``generated`` is a scratch folder for notices written from metadata.
    """
    wanted = set(bundled)
    notices: list[tuple[str, Path]] = [("LICENSE.txt", ROOT / "LICENSE"),
                                       ("LICENSES.md", ROOT / "installer" / "LICENSES.md")]
    if python_license().is_file():
        notices.append(("licenses/Python/LICENSE.txt", python_license()))
    for component, ids in EMBEDDED.items():
        notices += [(f"licenses/{component}/{SPDX_TEXTS[i]}", TEXTS / SPDX_TEXTS[i]) for i in ids]
    seen: set[str] = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"] or ""
        if not name or name.lower() in seen or name.lower() == "reeldesk" or not (_top_levels(dist) & wanted):
            continue
        seen.add(name.lower())
        files = _own_license_files(dist)
        if not files:  # e.g. the PySide6 wheels: the texts their metadata names, plus that statement
            files = [TEXTS / SPDX_TEXTS[i] for i in _declared_spdx(dist)]
            files.append(_metadata_notice(dist, generated / name))
        used: set[str] = set()
        contents: set[bytes] = set()
        for src in files:
            if not src.is_file() or (body := src.read_bytes()) in contents:
                continue  # the same text twice (a package folder and its metadata copy)
            contents.add(body)
            dest, parents = src.name, src.parents
            for depth in range(len(parents)):  # e.g. numpy's ma/LICENSE beside its LICENSE.txt
                if dest not in used:
                    break
                dest = f"{parents[depth].name}-{dest}"
            used.add(dest)
            notices.append((f"licenses/{name}/{dest}", src))
    return [(dest, src) for dest, src in notices if src.is_file()]
