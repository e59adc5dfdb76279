"""The one preprocessing path: shared by training, calibration, export checks and inference.

Conventions (every module relies on them):
- Images are H x W x 3 uint8 **BGR** (OpenCV's order). Models see float32 NCHW BGR, ``x / 255 - 0.5``.
- Points are continuous pixel coordinates: (0, 0) is the top-left corner of the top-left pixel, so the
  centre of pixel (i, j) is (i + 0.5, j + 0.5). OpenCV puts pixel centres at integer coordinates, so
  every matrix handed to OpenCV is shifted by half a pixel here, and nowhere else.
- An affine ``M`` is (2, 3) float64 and maps frame points to crop points: ``crop = M @ [x, y, 1]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PIXEL_SCALE = 1.0 / 255.0
PIXEL_OFFSET = -0.5
NORMALIZATION = "float32 NCHW BGR, x / 255 - 0.5"

# Stage-II crops are squares around the hand box: side = CROP_SCALE * the box's longer side. The box is
# the tight box around the 21 joints, which leaves the finger pads and the palm's edge outside it.
CROP_SCALE = 1.5


def normalize(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) or (H, W, 3) uint8 BGR -> (N, 3, H, W) float32 model input."""
    if images.ndim == 3:
        images = images[None]
    # Transpose the uint8 bytes first, then convert in one contiguous pass: 7x faster than converting and
    # copying the strided float view (1.3 -> 0.18 ms for a 384x288 localizer input), bit-identical.
    chw = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    out = np.empty(chw.shape, np.float32)
    np.multiply(chw, np.float32(PIXEL_SCALE), out=out, dtype=np.float32)
    out += np.float32(PIXEL_OFFSET)
    return out


def denormalize(tensor: np.ndarray) -> np.ndarray:
    """Inverse of :func:`normalize`: (N, 3, H, W) float32 -> (N, H, W, 3) uint8 BGR (for looking at)."""
    images = (tensor.transpose(0, 2, 3, 1) - PIXEL_OFFSET) / PIXEL_SCALE
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def to_cv2_matrix(m: np.ndarray) -> np.ndarray:
    """Continuous-coordinate affine -> the matrix cv2.warpAffine expects (pixel centres at integers)."""
    m = np.asarray(m, np.float64)
    shifted = m.copy()
    # cv2 point = continuous - 0.5 on both sides: M' x' = M (x' + .5) - .5
    shifted[:, 2] = m[:, 2] + 0.5 * (m[:, 0] + m[:, 1]) - 0.5
    return shifted


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine, or of a stack (N, 2, 3)."""
    m = np.asarray(m, np.float64)
    if m.ndim == 3:
        return np.stack([invert_affine(x) for x in m])
    return cv2.invertAffineTransform(m)


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (..., 2) points through a (2, 3) affine; returns float32."""
    pts = np.asarray(points, np.float64)
    out = pts @ np.asarray(m, np.float64)[:, :2].T + np.asarray(m, np.float64)[:, 2]
    return out.astype(np.float32)


def warp(image: np.ndarray, m: np.ndarray, size: tuple[int, int], border: int = cv2.BORDER_CONSTANT,
         border_value: tuple[int, int, int] = (0, 0, 0), interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Warp ``image`` by the continuous-coordinate affine ``m`` into a (size[1], size[0]) image."""
    return cv2.warpAffine(image, to_cv2_matrix(m), size, flags=interpolation, borderMode=border,
                          borderValue=border_value)


def crop_affine(box: np.ndarray, crop_size: int, scale: float = CROP_SCALE, rotation_deg: float = 0.0,
                shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Affine mapping frame points to a square ``crop_size`` crop centred on ``box`` (x0, y0, x1, y1).

    The crop's side in frame pixels is ``scale * max(box width, box height)``; ``rotation_deg`` turns the
    hand counter-clockwise in the crop and ``shift`` moves the crop centre by a fraction of that side
    (both for training augmentation).
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 1.0) * scale
    cx = (x0 + x1) / 2 + shift[0] * side
    cy = (y0 + y1) / 2 + shift[1] * side
    s = crop_size / side
    a = np.deg2rad(rotation_deg)
    cos, sin = np.cos(a) * s, np.sin(a) * s
    # Rotate and scale about the box centre, then move the centre to the crop centre.
    return np.array([[cos, sin, crop_size / 2 - cos * cx - sin * cy],
                     [-sin, cos, crop_size / 2 + sin * cx - cos * cy]], np.float64)


# Outside the frame a crop repeats the border pixels: training does the same for hands cut by the image edge,
# and a replicated border looks more like the rest of the arm than a black band does.
CROP_BORDER = cv2.BORDER_REPLICATE


def crop_hands(frame: np.ndarray, boxes: np.ndarray, crop_size: int, scale: float = CROP_SCALE,
               rotations_deg=None) -> tuple[np.ndarray, np.ndarray]:
    """Crop every hand of a frame into one batch (pixels outside the frame: CROP_BORDER).

    frame: (H, W, 3) uint8 BGR; boxes: (N, 4) float, frame pixels (x0, y0, x1, y1); rotations_deg: None, or (N,)
    degrees to turn each hand counter-clockwise in its crop (crop_affine; DetectorOptions.upright_pass).
    Returns crops (N, 3, crop_size, crop_size) float32 model input and affines (N, 2, 3) frame -> crop.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    turns = np.zeros(len(boxes)) if rotations_deg is None else np.asarray(rotations_deg, np.float64).reshape(-1)
    affines = np.stack([crop_affine(b, crop_size, scale, t) for b, t in zip(boxes, turns)]) if len(boxes) else \
        np.zeros((0, 2, 3))
    images = np.stack([warp(frame, m, (crop_size, crop_size), border=CROP_BORDER) for m in affines]) if len(boxes) else \
        np.zeros((0, crop_size, crop_size, 3), np.uint8)
    return normalize(images), affines


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into the localizer's input: input = frame * scale + pad, per axis."""

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int
    resized: tuple[int, int]     # (width, height) of the frame after resizing, before padding
    input_size: tuple[int, int]  # (width, height) of the model input

    @property
    def matrix(self) -> np.ndarray:
        """(2, 3) affine frame -> model input."""
        return np.array([[self.scale_x, 0, self.pad_x], [0, self.scale_y, self.pad_y]], np.float64)

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Map (..., 2) model-input points back to frame pixels."""
        pts = np.asarray(points, np.float32)
        return (pts - np.array([self.pad_x, self.pad_y], np.float32)) / np.array(
            [self.scale_x, self.scale_y], np.float32)

    def boxes_to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Map (N, 4) model-input boxes back to frame pixels."""
        b = np.asarray(boxes, np.float32).reshape(-1, 2, 2)
        return self.to_frame(b).reshape(-1, 4)


def letterbox_transform(frame_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
    """The resize and padding that fit a (width, height) frame inside input_size, centred, aspect kept."""
    fw, fh = frame_size
    iw, ih = input_size
    scale = min(iw / fw, ih / fh)
    rw, rh = min(iw, max(1, round(fw * scale))), min(ih, max(1, round(fh * scale)))
    return Letterbox(rw / fw, rh / fh, (iw - rw) // 2, (ih - rh) // 2, (rw, rh), (iw, ih))


LETTERBOX_FILL = 127
# Shrinking by more than 2x averages pixel areas (INTER_AREA: no aliasing); milder shrinks interpolate linearly,
# as data/compose.py does. INTER_AREA at a fractional scale such as 640x480 -> 384x288 cost 2.9-4.4 ms a resize
# on this CPU against 0.6-1.5 ms for INTER_LINEAR, with the same localizer accuracy (benchmarks/RESULTS.md section 8).
AREA_BELOW_SCALE = 0.5


def letterbox_image(frame: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Fit a (H, W, 3) uint8 BGR frame into (width, height) ``input_size`` with grey padding (uint8)."""
    lb = letterbox_transform((frame.shape[1], frame.shape[0]), input_size)
    # cv2.resize maps continuous coordinates exactly by rw / fw, so lb.matrix holds for every pixel.
    interpolation = cv2.INTER_AREA if lb.scale_x < AREA_BELOW_SCALE else cv2.INTER_LINEAR
    resized = cv2.resize(frame, lb.resized, interpolation=interpolation)
    iw, ih = input_size
    out = np.full((ih, iw, 3), LETTERBOX_FILL, np.uint8)
    out[lb.pad_y:lb.pad_y + lb.resized[1], lb.pad_x:lb.pad_x + lb.resized[0]] = resized
    return out, lb


def letterbox(frame: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Letterbox a frame and normalise it: (1, 3, h, w) float32 model input and the :class:`Letterbox`."""
    image, lb = letterbox_image(frame, input_size)
    return normalize(image), lb
