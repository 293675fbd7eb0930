"""Image cells: arrays (digits' 8×8 floats in [0, 1] included), PIL images and files."""

from __future__ import annotations

import io

import flatspace
import numpy as np
import pytest
from flatspace import _native
from PIL import Image as PILImage


def decode(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)))


def test_float_array_in_unit_range_is_scaled_to_bytes():
    pixels = np.random.default_rng(0).integers(0, 17, (8, 8)) / 16
    image = flatspace.Image(pixels, caption="digit")
    assert image.mime == "image/png" and image.caption == "digit"
    np.testing.assert_array_equal(
        decode(image.to_bytes()), np.rint(pixels * 255).astype(np.uint8)
    )


def test_rgb_uint8_and_pil_and_path(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    from_array = flatspace.Image(rgb)
    np.testing.assert_array_equal(decode(from_array.to_bytes()), rgb)
    from_pil = flatspace.Image(PILImage.fromarray(rgb))
    np.testing.assert_array_equal(decode(from_pil.to_bytes()), rgb)
    path = tmp_path / "x.png"
    PILImage.fromarray(rgb).save(path)
    from_path = flatspace.Image(path)
    assert from_path.to_bytes() == path.read_bytes()
    assert from_path.hash == _native.media_hash(path.read_bytes())


def test_bad_images():
    with pytest.raises(ValueError, match="shape"):
        flatspace.Image(np.zeros((2, 2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        flatspace.Image(np.full((2, 2), np.nan))


def test_image_column_is_stored_with_its_media(run, store_dir):
    images = [flatspace.Image(np.full((8, 8), v / 4)) for v in range(4)]
    t = flatspace.Table(
        columns=["label", "image"], data=[[str(i), im] for i, im in enumerate(images)]
    )
    run.log({"images": t})
    store = _native.Store(str(store_dir))
    import pyarrow as pa

    back = pa.table(store.read_table(run.tables[-1]["id"]))
    field = back.schema.field("image")
    assert field.metadata == {b"flatspace.kind": b"image"}
    hashes = back.column("image").to_pylist()
    assert hashes == [im.hash for im in images]
    for im, h in zip(images, hashes, strict=True):
        assert store.media(h) == im.to_bytes()
