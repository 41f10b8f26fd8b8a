"""Reading images, and the embedded demo image used when none is given."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from PIL import Image, ImageDraw

# The largest image horizon decodes, in pixels: PIL's own decompression-bomb threshold (which only warns below
# twice as many). The models see a few hundred thousand pixels at most (LLaVA-1.5 336x336, Qwen2.5-VL ~1.6M); a
# larger image is refused from its header, before it is decoded into gigabytes.
MAX_IMAGE_PIXELS = 89_478_485
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)  # what PIL raises for a broken file


class ImageError(ValueError):
    """An image that cannot be decoded or is over :data:`MAX_IMAGE_PIXELS` (names it and the limit)."""


def decode(data: bytes | Path, who: str) -> Image.Image:
    """The RGB image in ``data`` (encoded bytes or a file); ``who`` names it in the error ("sample 3")."""
    try:
        with warnings.catch_warnings():  # the size is checked here, before anything is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    except Image.DecompressionBombError as err:  # PIL refuses it from the header alone
        found = re.search(r"\((\d+) pixels\)", str(err))
        size = f"has {int(found[1]):,} pixels" if found else f"is too large ({err})"
        raise ImageError(f"{who}: its image {size}, over the limit of {_limit()}; store it downscaled") from None
    except _DECODE_ERRORS as err:
        raise ImageError(f"{who}: its image cannot be decoded ({_said(err)})") from None
    with img:
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ImageError(f"{who}: its image is {width}x{height} ({width * height:,} pixels), over the limit "
                             f"of {_limit()}; store it downscaled")  # fmt: skip
        try:
            return img.convert("RGB")
        except _DECODE_ERRORS as err:
            raise ImageError(f"{who}: its image cannot be decoded ({_said(err)})") from None


def _said(err: BaseException) -> str:
    """PIL's message without the in-memory file's address (``<_io.BytesIO object at 0x...>``), which names nothing
    and differs from one read to the next (one failure would read as several)."""
    return re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "its bytes", str(err))


def _limit() -> str:
    return f"{MAX_IMAGE_PIXELS:,} pixels (horizon.images.MAX_IMAGE_PIXELS)"


def load_image(path: str | Path) -> Image.Image:
    """An RGB image from ``path``; a clear error if it is missing, not an image, or over the pixel limit."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise ValueError(f"image {str(p)!r} is a folder: give an image file")
    if not p.is_file():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    return decode(p, f"image {str(p)!r}")


def demo_image(width: int = 448, height: int = 336) -> Image.Image:
    """A deterministic picture: a red sign reading HORIZON on a sky-and-grass scene, with shapes."""
    img = Image.new("RGB", (width, height), (135, 190, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, height * 2 // 3, width, height], fill=(70, 150, 60))
    draw.rectangle([width // 4, height // 5, width * 3 // 4, height // 2], fill=(200, 30, 30))
    draw.rectangle([width // 2 - 4, height // 2, width // 2 + 4, height * 2 // 3 + 20], fill=(90, 60, 30))
    draw.text((width // 4 + 20, height // 3 - 6), "HORIZON", fill=(255, 255, 255))
    draw.ellipse([20, 20, 80, 80], fill=(250, 220, 40))
    draw.polygon([(width - 90, height - 20), (width - 20, height - 20), (width - 55, height - 80)], fill=(40, 40, 200))
    return img
