"""Exports scikit-learn's digits (1,797 rows, 8 x 8 pixels, values 0..16) for `flatspace demo`.

Run once with the project's venv; the outputs are committed so the demo needs no Python:
    .venv/bin/python crates/flatspace-server/demo/export_digits.py
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent


def main() -> None:
    digits = load_digits()
    pixels = digits.data.astype(np.uint8)  # values 0..16, exact in uint8
    assert np.array_equal(pixels, digits.data), "digits pixels are not small integers"
    labels = digits.target.astype(np.uint8)
    np.save(HERE / "digits_pixels.npy", pixels)
    np.save(HERE / "digits_labels.npy", labels)
    print(f"wrote {pixels.shape} pixels and {labels.shape} labels to {HERE}")


if __name__ == "__main__":
    main()
