"""Image cells: arrays (digits' 8×8 floats in [0, 1] included), PIL images and files."""

from __future__ import annotations

import io

import flatspace
import numpy as np
import pytest
from conftest import read_back, stored_tables
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


def test_captions_are_stored_in_a_text_column_after_the_images(run, store_dir):
    images = [
        flatspace.Image(np.full((4, 4), 0.5), caption="grey"),
        None,
        flatspace.Image(np.zeros((4, 4)), caption=3),  # W&B captions may be numbers
        flatspace.Image(np.ones((4, 4))),  # no caption
    ]
    t = flatspace.Table(
        columns=["image", "n"], data=[[im, i] for i, im in enumerate(images)]
    )
    run.log({"captioned": t})
    back = read_back(store_dir, run.tables[-1]["id"])
    assert back.column_names == ["image", "image_caption", "n"]
    assert back.column("image_caption").to_pylist() == ["grey", None, "3", None]
    assert back.column("image").to_pylist() == [
        images[0].hash,
        None,
        images[2].hash,
        images[3].hash,
    ]


def test_images_without_captions_add_no_column(run, store_dir):
    t = flatspace.Table(columns=["image"], data=[[flatspace.Image(np.eye(3))]])
    run.log({"plain": t})
    assert read_back(store_dir, run.tables[-1]["id"]).column_names == ["image"]


def test_caption_column_name_taken_is_an_error_and_nothing_is_written(run, store_dir):
    t = flatspace.Table(
        columns=["image", "image_caption"],
        data=[[flatspace.Image(np.eye(3), caption="eye"), "mine"]],
    )
    with pytest.raises(ValueError, match="'image_caption'.*already has a column"):
        run.log({"clash": t})
    assert stored_tables(store_dir) == []


def test_copying_an_image_keeps_or_replaces_its_caption():
    original = flatspace.Image(np.eye(3), caption="first")
    assert flatspace.Image(original).caption == "first"
    assert flatspace.Image(original, caption="second").caption == "second"
