"""Writes the small .npy fixtures the npy tests read, with numpy itself as the reference writer.

Every array holds value(i, j) = i * 10 + j - 7 (exact in every dtype used), so the Rust tests can
check the values without reading numpy's output back through numpy. Run from this folder:
``python make_npy.py``.
"""

import numpy as np

ROWS, COLS = 5, 3


def matrix(dtype: str) -> np.ndarray:
    i, j = np.mgrid[0:ROWS, 0:COLS]
    return (i * 10 + j - 7).astype(dtype)


def main() -> None:
    np.save("f4_c.npy", matrix("<f4"))
    np.save("f8_be_fortran.npy", np.asfortranarray(matrix(">f8")))
    np.save("i2_le.npy", matrix("<i2"))
    np.save("i8_be.npy", matrix(">i8"))
    np.save("u1.npy", (matrix("<i4") + 7).astype("u1"))
    with open("f4_v2.npy", "wb") as f:
        np.lib.format.write_array(f, matrix("<f4"), version=(2, 0))
    with open("f4_v3.npy", "wb") as f:
        np.lib.format.write_array(f, matrix("<f4"), version=(3, 0))
    # 3-D: rows of 2 x 3 "images", Fortran order, flattened to 6 values per row in C order.
    cube = np.arange(ROWS * 2 * 3, dtype="<f4").reshape(ROWS, 2, 3)
    np.save("f4_3d_fortran.npy", np.asfortranarray(cube))
    np.save("labels_u1.npy", np.array([3, 1, 4, 1, 5], dtype="u1"))
    np.save("labels_str.npy", np.array(["chat", "chien", "émeu", "chat", "日本"]))
    np.save("labels_2d.npy", np.zeros((ROWS, 2), dtype="<i4"))


if __name__ == "__main__":
    main()
