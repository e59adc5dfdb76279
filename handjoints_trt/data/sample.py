"""What every data source yields: an image and its labelled hands, in canonical joint order."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..skeleton import NUM_JOINTS


@dataclass
class HandLabel:
    """One labelled hand.

    keypoints: (21, 2) float32, image pixels, canonical order (skeleton.HandJoint), continuous coordinates
        ((0, 0) = top-left corner of the top-left pixel). Unlabelled joints hold 0 and visible False.
    visible: (21,) bool, True where the joint is labelled and may be scored and trained on.
    box: (4,) float32 (x0, y0, x1, y1), image pixels: the tight box around the labelled joints unless the
        source gives a better one.
    handedness: 'left', 'right' or None (unknown).
    """

    keypoints: np.ndarray
    visible: np.ndarray
    box: np.ndarray | None = None
    handedness: str | None = None

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, np.float32)
        self.visible = np.asarray(self.visible, bool)
        if self.keypoints.shape != (NUM_JOINTS, 2):
            raise ValueError(f"HandLabel.keypoints must be (21, 2), got {self.keypoints.shape}")
        if self.visible.shape != (NUM_JOINTS,):
            raise ValueError(f"HandLabel.visible must be (21,), got {self.visible.shape}")
        self.keypoints = np.where(self.visible[:, None], self.keypoints, 0).astype(np.float32)
        if self.box is None:
            self.box = keypoint_box(self.keypoints, self.visible)
        self.box = np.asarray(self.box, np.float32).reshape(4)


@dataclass
class Sample:
    """One image with 0..n labelled hands. image: (H, W, 3) uint8 BGR. source: file path or generator id."""

    image: np.ndarray
    hands: list[HandLabel] = field(default_factory=list)
    source: str = ""


def keypoint_box(keypoints: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """Tight (x0, y0, x1, y1) float32 box around the visible keypoints (zeros when none is visible)."""
    kp = np.asarray(keypoints, np.float32).reshape(-1, 2)
    if visible is not None:
        kp = kp[np.asarray(visible, bool).reshape(-1)]
    if len(kp) == 0:
        return np.zeros(4, np.float32)
    return np.concatenate([kp.min(axis=0), kp.max(axis=0)]).astype(np.float32)


@dataclass
class Record:
    """A labelled image on disk, read only when needed (data sets hold thousands of them).

    path: the image file. hands: its labels, in that image's pixels. load() reads it as a Sample.
    """

    path: str
    hands: list[HandLabel] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    meta: dict = field(default_factory=dict)

    def load(self) -> Sample:
        import cv2  # lazy: labels can be inspected without OpenCV

        image = cv2.imread(self.path, cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"cannot read image {self.path!r} (missing, unreadable or not an image)")
        return Sample(image, [HandLabel(h.keypoints.copy(), h.visible.copy(), h.box.copy(), h.handedness)
                              for h in self.hands], self.path)
