"""Reading images, and the embedded demo image used when none is given."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, UnidentifiedImageError


def load_image(path: str | Path) -> Image.Image:
    """An RGB image from ``path``; a clear error if it is missing or not an image."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    try:
        with Image.open(p) as img:
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"image {str(p)!r} is not a readable image ({err})") from None


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
