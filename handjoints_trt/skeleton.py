"""The hand skeleton: the 21 joints, their bones, the graph matrices of AOMR, mirroring and colours.

Every other module takes the joint order and the skeleton from here (METHOD.md, "Notation"):
0 wrist; 1-4 thumb (CMC, MCP, IP, tip); 5-8 index; 9-12 middle; 13-16 ring; 17-20 little (MCP, PIP, DIP,
tip). This is the CMU/OpenPose, COCO-WholeBody and MediaPipe order.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np

NUM_JOINTS = 21


class HandJoint(IntEnum):
    """The 21 hand joints in canonical order."""

    WRIST = 0
    THUMB_CMC = 1
    THUMB_MCP = 2
    THUMB_IP = 3
    THUMB_TIP = 4
    INDEX_MCP = 5
    INDEX_PIP = 6
    INDEX_DIP = 7
    INDEX_TIP = 8
    MIDDLE_MCP = 9
    MIDDLE_PIP = 10
    MIDDLE_DIP = 11
    MIDDLE_TIP = 12
    RING_MCP = 13
    RING_PIP = 14
    RING_DIP = 15
    RING_TIP = 16
    LITTLE_MCP = 17
    LITTLE_PIP = 18
    LITTLE_DIP = 19
    LITTLE_TIP = 20


FINGER_NAMES = ("thumb", "index", "middle", "ring", "little")
# The palm's outline: the wrist, the thumb's base and the four fingers' knuckles (the palm cannot hide them; their box
# is palm skin).
PALM_JOINTS = (0, 1, 5, 9, 13, 17)

# Each finger's joints from its base to its tip (the wrist is not part of a finger).
FINGERS: dict[str, tuple[int, int, int, int]] = {
    name: tuple(range(1 + 4 * i, 5 + 4 * i)) for i, name in enumerate(FINGER_NAMES)  # type: ignore[misc]
}

# Bones as (parent, child): wrist to each finger's base, then along each finger towards its tip.
BONES: tuple[tuple[int, int], ...] = tuple(
    pair
    for joints in FINGERS.values()
    for pair in ((0, joints[0]), (joints[0], joints[1]), (joints[1], joints[2]), (joints[2], joints[3]))
)

# Parent of each joint along the kinematic chain (-1 for the wrist, the root).
PARENT: tuple[int, ...] = tuple([-1] + [parent for parent, _ in sorted(BONES, key=lambda b: b[1])])

TIPS: tuple[int, ...] = tuple(joints[-1] for joints in FINGERS.values())


def adjacency() -> np.ndarray:
    """A: (21, 21) float32, 1 where two joints share a bone, symmetric, zero diagonal."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), np.float32)
    for parent, child in BONES:
        a[parent, child] = a[child, parent] = 1.0
    return a


def degree() -> np.ndarray:
    """D: (21, 21) float32 diagonal matrix of the number of bones at each joint."""
    return np.diag(adjacency().sum(axis=1)).astype(np.float32)


def normalized_adjacency() -> np.ndarray:
    """L = D^-1/2 A D^-1/2 (METHOD.md eq. 7): (21, 21) float32, the AOMR mixing matrix."""
    a = adjacency()
    d_inv_sqrt = 1.0 / np.sqrt(a.sum(axis=1))
    return (d_inv_sqrt[:, None] * a * d_inv_sqrt[None, :]).astype(np.float32)


# Mirroring an image left-right keeps the joint order (every hand has the same 21 joints) but turns a
# left hand into a right one: flip x, keep the index of each joint, swap the handedness label.
MIRROR_PERMUTATION: tuple[int, ...] = tuple(range(NUM_JOINTS))
MIRROR_HANDEDNESS = {"left": "right", "right": "left", None: None}


def mirror_handedness(handedness: str | None) -> str | None:
    """The handedness after a horizontal flip ('left' <-> 'right'; unknown stays unknown)."""
    return MIRROR_HANDEDNESS[handedness.lower() if handedness else None]


# Drawing colours, BGR (OpenCV), one per finger; the wrist's bones take their finger's colour.
FINGER_COLORS_BGR: dict[str, tuple[int, int, int]] = {
    "thumb": (0, 0, 255),
    "index": (0, 200, 255),
    "middle": (0, 220, 0),
    "ring": (255, 160, 0),
    "little": (255, 0, 200),
}
WRIST_COLOR_BGR = (230, 230, 230)


def joint_color(joint: int) -> tuple[int, int, int]:
    """BGR colour of a joint: its finger's colour, or the wrist colour."""
    if joint == HandJoint.WRIST:
        return WRIST_COLOR_BGR
    return FINGER_COLORS_BGR[FINGER_NAMES[(joint - 1) // 4]]


def bone_color(bone: tuple[int, int]) -> tuple[int, int, int]:
    """BGR colour of a bone: the colour of the finger its child joint belongs to."""
    return joint_color(bone[1])
