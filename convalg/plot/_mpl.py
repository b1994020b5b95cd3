"""matplotlib access (the optional ``plot`` extra), the colour palette and saving, shared by every picture."""

from __future__ import annotations

import colorsys
import os
import textwrap
from typing import Any

from ..errors import SpecError

__all__ = ["finish", "pyplot", "palette", "save_figure", "wrapped_title"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` (its backend left as the user has it: a notebook's inline one, or matplotlib's own
    choice, Agg without a display), or a SpecError naming the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError("pictures need matplotlib (pip install matplotlib, or the convalg[plot] extra)") from None
    return plt


def palette(count: int) -> list[tuple[float, float, float]]:
    """``count`` distinct RGB colours: ``tab20`` up to 20, else hues spread around the circle at three
    lightness / saturation levels (pairwise RGB distance >= 0.09 up to 64 colours).

    >>> len(palette(64)), len(set(palette(64)))
    (64, 64)
    """
    if count <= 20:
        import matplotlib

        cmap = matplotlib.colormaps["tab20"]
        return [tuple(cmap(i)[:3]) for i in range(count)]  # type: ignore[misc]
    levels = ((0.45, 0.85), (0.68, 0.75), (0.30, 0.95))  # (lightness, saturation)
    hues = -(-count // len(levels))
    out = []
    for i in range(count):
        hue_index, level = divmod(i, len(levels))
        lightness, saturation = levels[level]
        hue = (hue_index + 0.5 * (level % 2)) / hues
        out.append(colorsys.hls_to_rgb(hue % 1.0, lightness, saturation))
    return out


def wrapped_title(text: str, width: int = 60) -> str:
    """A title broken into lines of at most ``width`` characters (long layer reprs are not clipped)."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=True)) if text else ""


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 100) -> str:
    """Write ``fig`` (PNG unless the suffix says otherwise), the bounding box grown to every label and title.

    Returns the path written (``.png`` added when ``path`` has no suffix, as matplotlib does).
    """
    path = os.fspath(path)
    if not os.path.splitext(path)[1]:
        path += ".png"
    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.15)
    except (OSError, ValueError) as e:  # a missing folder, a directory, an unknown extension
        raise SpecError(f"path={path!r}: cannot write the image ({type(e).__name__}: {e})") from None
    return path


def finish(fig: Any, path: str | os.PathLike[str] | None) -> Any:
    """Return ``fig``; when ``path`` is given, write it there first and close it (the figure stays usable)."""
    if path is not None:
        try:
            save_figure(fig, path)
        finally:
            pyplot().close(fig)
    return fig
