"""The one preprocessing path: pixel normalisation and the letterbox, checked against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from handjoints_trt import preprocess


@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 5, 7, 3)])
def test_normalize_is_bgr_chw_scaled_and_offset(shape):
    images = np.random.default_rng(0).integers(0, 256, shape, np.uint8)
    out = preprocess.normalize(images)
    batch = images if images.ndim == 4 else images[None]
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (len(batch), 3, 5, 7)
    n, c, y, x = len(batch) - 1, 2, 4, 6   # channel order is kept (BGR), each value is v / 255 - 0.5
    assert out[n, c, y, x] == pytest.approx(batch[n, y, x, c] / 255.0 - 0.5, abs=1e-7)
    np.testing.assert_allclose(out, batch.transpose(0, 3, 1, 2) / 255.0 - 0.5, atol=1e-7)
    np.testing.assert_array_equal(preprocess.denormalize(out), batch)


@pytest.mark.parametrize("size, aliased", [((640, 480), True), ((1920, 1440), False)])
def test_letterbox_averages_only_strong_shrinks(size, aliased):
    """A one-pixel checkerboard shrunk 0.6x (640x480, the webcam case) is interpolated linearly, the fast path
    that keeps the stripes' contrast; shrunk 0.2x it is area-averaged to near-flat grey (no aliasing where
    linear interpolation would sample a handful of the pixels)."""
    w, h = size
    board = ((np.indices((h, w)).sum(0) % 2) * 255).astype(np.uint8)
    image, lb = preprocess.letterbox_image(np.repeat(board[..., None], 3, 2), (384, 288))
    assert lb.resized == (384, 288)
    spread = float(image.std())
    assert (spread > 20) if aliased else (spread < 10), spread   # linear: 52 and 127.5; area: 5.5 at both


def test_letterbox_pads_centres_and_maps_points():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[200:280, 300:340] = 255                     # a white block, centre (320, 240)
    tensor, lb = preprocess.letterbox(frame, (384, 384))
    assert tensor.shape == (1, 3, 384, 384)
    assert lb.resized == (384, 288) and (lb.pad_x, lb.pad_y) == (0, 48)
    grey = preprocess.LETTERBOX_FILL / 255.0 - 0.5
    assert tensor[0, :, 10, 10] == pytest.approx([grey] * 3, abs=1e-6)  # padding above the image
    centre = lb.matrix @ np.array([320.0, 240.0, 1.0])
    assert centre == pytest.approx([192.0, 192.0])                      # 320 * 0.6, 240 * 0.6 + 48
    assert tensor[0, :, 192, 192] == pytest.approx([0.5] * 3)         # the block lands there
