"""Image cells: ``Image(array | PIL image | path, caption=...)`` as in ``wandb.Image``."""

from __future__ import annotations

import io
import mimetypes
import os
import struct
import zlib
from typing import Any

import numpy as np

from flatspace import _native

_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"RIFF": "image/webp",
}


def _png(pixels: np.ndarray) -> bytes:
    """Encodes an 8-bit H×W (grey), H×W×2/3/4 array as PNG (zlib only, no Pillow needed)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(
        height, width * channels
    )
    # Filter byte 0 ("none") before every scanline.
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] are scaled by 255 (as wandb.Image does); other values are clipped to 0–255."""
    if array.dtype == object:
        array = array.astype(np.float64)
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"Image: expected a numeric array, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(
                "Image: the array holds NaN or infinity; expected finite pixel values"
            )
        if array.size and array.min() >= 0.0 and array.max() <= 1.0:
            array = array * 255.0
        array = np.rint(array)
    return np.clip(array, 0, 255).astype(np.uint8)


class Image:
    """An image cell for a :class:`Table`.

    ``data`` may be a numpy array (H×W grey, H×W×1/2/3/4; floats in [0, 1] are scaled to 0–255), a
    PIL image, the path of an image file, or the encoded bytes of one (PNG, JPEG, GIF, WebP kept as
    they are).

    ``caption`` (any value, kept as its text) is stored with the table: when any image of a column
    ``col`` has one, the logged table gets a text column ``col_caption`` right after ``col``
    (null for images without a caption).

    Example::

        Image(np.random.rand(8, 8), caption="noise")
    """

    def __init__(self, data_or_path: Any, mode: str | None = None, caption: Any = None):
        # W&B accepts any caption (a label number, say) and shows it as text.
        self.caption = None if caption is None else str(caption)
        self._hash: str | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            with open(path, "rb") as f:
                self._bytes = f.read()
            self._mime = _sniff(self._bytes) or mimetypes.guess_type(path)[0]
            if self._mime is None or not self._mime.startswith("image/"):
                raise ValueError(f"Image: {path} is not a PNG, JPEG, GIF or WebP image")
        elif _is_pil(data_or_path):
            buffer = io.BytesIO()
            image = data_or_path.convert(mode) if mode else data_or_path
            image.save(buffer, format="PNG")
            self._bytes = buffer.getvalue()
            self._mime = "image/png"
        elif isinstance(data_or_path, (bytes, bytearray, memoryview)):
            # Encoded image bytes are kept as they are; anything else would become a 0-d array.
            self._bytes = bytes(data_or_path)
            self._mime = _sniff(self._bytes)
            if self._mime is None:
                raise ValueError(
                    f"Image: the {len(self._bytes)} bytes given are not a PNG, JPEG, GIF or WebP image"
                )
        elif isinstance(data_or_path, Image):
            self._bytes, self._mime = data_or_path._bytes, data_or_path._mime
            if caption is None:
                self.caption = data_or_path.caption
        else:
            try:
                array = np.asarray(data_or_path)
            except Exception as e:
                raise TypeError(
                    f"Image: cannot read {type(data_or_path).__name__} as an image"
                ) from e
            if array.ndim == 3 and array.shape[2] == 1:
                array = array[:, :, 0]
            if not (
                array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (2, 3, 4))
            ):
                raise ValueError(
                    f"Image: expected an H×W or H×W×C (C = 1–4) array, got shape {array.shape}"
                )
            if array.shape[0] == 0 or array.shape[1] == 0:
                raise ValueError(f"Image: the array is empty (shape {array.shape})")
            self._bytes = _png(_to_uint8(array))
            self._mime = "image/png"

    @property
    def hash(self) -> str:
        """The content hash the store names this image by."""
        if self._hash is None:
            self._hash = _native.media_hash(self._bytes)
        return self._hash

    @property
    def mime(self) -> str:
        return self._mime

    def to_bytes(self) -> bytes:
        """The encoded file (PNG for arrays and PIL images)."""
        return self._bytes

    def __repr__(self) -> str:
        caption = f", caption={self.caption!r}" if self.caption else ""
        return f"Image({self._mime}, {len(self._bytes)} bytes{caption})"


def _sniff(data: bytes) -> str | None:
    for magic, mime in _MAGIC.items():
        if data.startswith(magic):
            return mime
    return None


def _is_pil(obj: Any) -> bool:
    return any(c.__module__.startswith("PIL.") for c in type(obj).__mro__)
