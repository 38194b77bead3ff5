"""Fractional sort keys: concurrent moves on two devices merge without renumbering anything."""
from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order
_BASE = len(DIGITS)


def key_between(lo: str | None, hi: str | None) -> str:
    """A key strictly between ``lo`` and ``hi`` (None = open end). Keys never end in '0'."""
    if lo is not None and hi is not None and not lo < hi:
        raise ValueError(f"sort keys out of order: {lo!r} >= {hi!r}")
    a = lo or ""
    b = hi
    out = []
    i = 0
    while True:
        da = DIGITS.index(a[i]) if i < len(a) else 0
        db = DIGITS.index(b[i]) if b is not None and i < len(b) else _BASE
        if db - da > 1:
            out.append(DIGITS[(da + db) // 2])
            return "".join(out)
        out.append(DIGITS[da])
        if db - da == 1:
            b = None  # the prefix is now below hi: any digits after it stay below
        i += 1


def key_at(keys: list[str], position: int | None) -> str:
    """A key that places an item at ``position`` among ``keys`` (sorted); None = at the end."""
    if position is None or position >= len(keys):
        return key_between(keys[-1] if keys else None, None)
    position = max(position, 0)
    return key_between(keys[position - 1] if position > 0 else None, keys[position])
