"""colorimetry_table's numpy YUV reference against values worked by hand."""
import numpy as np
import pytest

from colorimetry_table import box2x2, pack, rgb_to_yuv_float, yuv420


def test_matrices_by_hand():
    red = np.array([[[255, 0, 0]]], np.uint8)
    # BT.709 limited: Y = 16 + 219 * 0.2126 = 62.5594, Pb = -0.2126 / (2 * 0.9278),
    # U = 128 - 224 * 0.114572 = 102.336, V = 128 + 224 * 0.5 = 240.
    y, u, v = rgb_to_yuv_float(red, "bt709", False)
    assert y[0, 0] == pytest.approx(62.5594)
    assert u[0, 0] == pytest.approx(128 - 224 * 0.2126 / 1.8556, abs=1e-9)
    assert v[0, 0] == pytest.approx(240.0)
    # BT.601 full range, blue: Y = 255 * 0.114 = 29.07, U = 128 + 127.5, V = 128 - 255 * 0.114 / 1.402.
    blue = np.array([[[0, 0, 255]]], np.uint8)
    y, u, v = rgb_to_yuv_float(blue, "bt601", True)
    assert (y[0, 0], u[0, 0]) == (pytest.approx(29.07), pytest.approx(255.5))
    assert v[0, 0] == pytest.approx(128 - 255 * 0.114 / 1.402)
    # BT.2020 limited, white and black: Y 235 / 16, chroma neutral.
    wb = np.array([[[255, 255, 255], [0, 0, 0]]], np.uint8)
    y, u, v = rgb_to_yuv_float(wb, "bt2020", False)
    assert y[0].tolist() == pytest.approx([235.0, 16.0])
    assert u[0].tolist() == pytest.approx([128.0, 128.0])
    assert v[0].tolist() == pytest.approx([128.0, 128.0])


def test_chroma_box_average_and_odd_edges():
    p = np.array([[0, 4, 8], [8, 12, 16], [20, 20, 30]], np.float64)
    # Blocks: (0+4+8+12)/4 = 6, (8+8+16+16)/4 = 12 (last column repeated),
    # (20+20+20+20)/4 = 20 (last row repeated), 30.
    assert box2x2(p).tolist() == [[6.0, 12.0], [20.0, 30.0]]


def test_planes_rounded_and_sized():
    rgb = np.zeros((3, 5, 3), np.uint8)
    rgb[:, :, 0] = 255  # red
    y, u, v = yuv420(rgb, "bt709", False)
    assert y.shape == (3, 5) and u.shape == (2, 3) and v.shape == (2, 3)
    assert (y == 63).all() and (u == 102).all() and (v == 240).all()


def test_gstreamer_default_layout():
    # 5x3 I420: luma stride 8 over 4 rows (height rounded up to even), chroma 3x2 with stride 4.
    y = np.full((3, 5), 1, np.uint8)
    u = np.full((2, 3), 2, np.uint8)
    v = np.full((2, 3), 3, np.uint8)
    data = np.frombuffer(pack("I420", y, u, v), np.uint8)
    assert data.size == 8 * 4 + 4 * 2 * 2
    assert data[:5].tolist() == [1] * 5 and data[5:8].tolist() == [0] * 3
    assert data[24:32].tolist() == [0] * 8  # the padding row
    assert data[32:35].tolist() == [2] * 3 and data[40:43].tolist() == [3] * 3
    # NV12: luma as above, then UV interleaved rows of 6 bytes padded to 8.
    data = np.frombuffer(pack("NV12", y, u, v), np.uint8)
    assert data.size == 8 * 4 + 8 * 2
    assert data[32:40].tolist() == [2, 3, 2, 3, 2, 3, 0, 0]
