"""Procedural synthetic hands: an articulated 3D hand, posed, projected and drawn with shaded primitives.

The hand model (units: centimetres, a right hand):
- hand frame: x radial (towards the thumb), y distal (wrist to fingers), z palmar (out of the palm);
  the wrist joint is the origin. A left hand is the mirror image (x -> -x).
- four fingers (index..little) hinge at the MCP (flexion towards +z and abduction about z), then PIP and
  DIP flex in the same plane; the thumb's metacarpal leaves the CMC at a radial angle (abduction) and a
  palmar angle (opposition), then MCP and IP flex across the palm.
- :class:`HandPose` holds the angles, :data:`FLEXION_LIMITS_DEG` / :data:`ABDUCTION_LIMITS_DEG` the
  anatomical limits, :class:`HandShape` the per-hand proportions.

Camera: x right, y down, z forward (into the scene); pinhole, focal length in pixels, principal point in
continuous pixel coordinates (preprocess.py conventions). ``rotation`` (3, 3) turns the *canonical view*
(palm facing the camera, fingers up, a right hand's thumb on the image's right) into the camera frame.

Drawing is a painter's algorithm over capsules (one per finger bone), the palm (a slab) and the forearm,
far to near. A joint is visible when no nearer primitive covers it (analytic test against the same
primitives, so labels agree with the pixels) and it lies inside the image.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from .. import preprocess
from ..skeleton import NUM_JOINTS, PALM_JOINTS
from .backgrounds import random_background, random_skin_color
from .sample import HandLabel, Sample

DEG = np.pi / 180.0

# Per finger (thumb, index, middle, ring, little), per joint: (min, max) flexion in degrees.
# Fingers: (MCP, PIP, DIP). Thumb: (CMC palmar angle = opposition, MCP, IP). Negative = hyperextension.
FLEXION_LIMITS_DEG = np.array([
    [[0, 75], [-10, 65], [-15, 85]],
    [[-20, 90], [0, 110], [-5, 80]],
    [[-20, 90], [0, 110], [-5, 80]],
    [[-20, 90], [0, 110], [-5, 80]],
    [[-20, 90], [0, 110], [-5, 80]],
], np.float64)
# Abduction in degrees, positive towards the thumb (radial). Thumb: CMC radial angle from the palm's axis.
ABDUCTION_LIMITS_DEG = np.array([[5, 75], [-15, 25], [-15, 15], [-20, 12], [-30, 15]], np.float64)

POSE_NAMES = ("open", "flat", "relaxed", "fist", "point", "peace", "three", "pinch", "ok", "thumbs_up",
              "call", "claw", "mixed", "random")

# Canonical view: hand x -> camera x, hand y (distal) -> camera -y (up), hand z (palmar) -> camera -z.
CANONICAL_VIEW = np.diag([1.0, -1.0, -1.0])

_JOINT_TOLERANCE_CM = 0.25            # a cover must be this much nearer than the joint's front surface


@dataclass
class HandPose:
    """Joint angles in radians.

    flexion: (5, 3) per finger (thumb, index..little); fingers (MCP, PIP, DIP), thumb (CMC opposition, MCP, IP).
    abduction: (5,) fingers' MCP abduction (positive radial), thumb's CMC radial angle.
    """

    flexion: np.ndarray
    abduction: np.ndarray

    def __post_init__(self) -> None:
        self.flexion = np.asarray(self.flexion, np.float64)
        self.abduction = np.asarray(self.abduction, np.float64)
        if self.flexion.shape != (5, 3):
            raise ValueError(f"HandPose.flexion must be (5, 3) radians (finger x joint), got {self.flexion.shape}")
        if self.abduction.shape != (5,):
            raise ValueError(f"HandPose.abduction must be (5,) radians (one per finger), got {self.abduction.shape}")

    def clipped(self) -> "HandPose":
        """The same pose with every angle clipped into the anatomical limits."""
        return HandPose(np.clip(self.flexion, FLEXION_LIMITS_DEG[..., 0] * DEG, FLEXION_LIMITS_DEG[..., 1] * DEG),
                        np.clip(self.abduction, ABDUCTION_LIMITS_DEG[:, 0] * DEG, ABDUCTION_LIMITS_DEG[:, 1] * DEG))

    def within_limits(self, tolerance_deg: float = 1e-6) -> bool:
        """True when every angle lies inside the anatomical limits."""
        f, a, t = self.flexion / DEG, self.abduction / DEG, tolerance_deg
        return bool(np.all(f >= FLEXION_LIMITS_DEG[..., 0] - t) and np.all(f <= FLEXION_LIMITS_DEG[..., 1] + t)
                    and np.all(a >= ABDUCTION_LIMITS_DEG[:, 0] - t) and np.all(a <= ABDUCTION_LIMITS_DEG[:, 1] + t))

    @staticmethod
    def from_degrees(flexion: Sequence, abduction: Sequence) -> "HandPose":
        return HandPose(np.asarray(flexion, np.float64) * DEG, np.asarray(abduction, np.float64) * DEG)


@dataclass
class HandShape:
    """Proportions of one hand, centimetres, right-hand frame.

    bases: (5, 3) thumb CMC, then the index..little MCP. lengths: (5, 3) bone lengths from each base to the
    tip. radii: (5,) finger radius at the base (tapers to the tip). splay: (5,) rest direction of each
    finger, radians from the palm's axis towards the thumb (thumb: unused).
    """

    bases: np.ndarray = field(default_factory=lambda: np.array(
        [[1.9, 2.0, 0.9], [2.3, 9.0, 0.0], [0.45, 9.3, 0.0], [-1.35, 8.8, 0.0], [-2.9, 7.9, 0.0]]))
    lengths: np.ndarray = field(default_factory=lambda: np.array(
        [[4.3, 3.1, 2.7], [4.2, 2.5, 2.2], [4.6, 2.9, 2.4], [4.3, 2.8, 2.3], [3.5, 2.1, 2.1]]))
    radii: np.ndarray = field(default_factory=lambda: np.array([1.05, 0.88, 0.9, 0.84, 0.74]))
    splay: np.ndarray = field(default_factory=lambda: np.array([0.0, 4.0, 0.0, -4.0, -9.0]) * DEG)
    wrist_width: float = 5.6
    palm_thickness: float = 2.6
    thenar_radius: float = 1.45

    @staticmethod
    def random(rng: np.random.Generator) -> "HandShape":
        """Random proportions: overall size, palm width, finger length and thickness vary independently."""
        s = HandShape()
        size = rng.uniform(0.8, 1.15)
        width = rng.uniform(0.88, 1.12)
        finger = rng.uniform(0.88, 1.12)
        bases = s.bases * size
        bases[:, 0] *= width
        lengths = s.lengths * size * finger * rng.uniform(0.94, 1.06, s.lengths.shape)
        radii = s.radii * size * width * rng.uniform(0.85, 1.15)
        return HandShape(bases, lengths, radii, s.splay + rng.normal(0, 2, 5) * DEG,
                         s.wrist_width * size * width, s.palm_thickness * size * rng.uniform(0.85, 1.15),
                         s.thenar_radius * size * width)


def joints_3d(pose: HandPose, shape: HandShape | None = None) -> np.ndarray:
    """(21, 3) float64 joint positions of a right hand in the hand frame, centimetres (canonical order)."""
    shape = shape or HandShape()
    out = np.zeros((NUM_JOINTS, 3))
    z = np.array([0.0, 0.0, 1.0])
    for finger in range(5):
        if finger == 0:
            a, o = pose.abduction[0], pose.flexion[0, 0]
            first = np.array([np.sin(a) * np.cos(o), np.cos(a) * np.cos(o), np.sin(o)])
            # The thumb flexes across the palm (ulnar) and a little palmar, in a plane through its metacarpal.
            bend = np.array([-0.97, 0.15, 0.19])
            bend -= bend @ first * first
            bend /= np.linalg.norm(bend)
            angles = np.cumsum([0.0, pose.flexion[0, 1], pose.flexion[0, 2]])
        else:
            a = shape.splay[finger] + pose.abduction[finger]
            first = np.array([np.sin(a), np.cos(a), 0.0])
            bend = z
            angles = np.cumsum(pose.flexion[finger])
        directions = np.cos(angles)[:, None] * first + np.sin(angles)[:, None] * bend
        steps = directions * shape.lengths[finger][:, None]
        out[1 + 4 * finger] = shape.bases[finger]
        out[2 + 4 * finger:5 + 4 * finger] = shape.bases[finger] + np.cumsum(steps, axis=0)
    return out


# --- poses -------------------------------------------------------------------------------------------------
_FINGER_STATES = {  # (MCP, PIP, DIP) flexion ranges in degrees
    "open": ((-10, 12), (0, 12), (0, 10)),
    "half": ((15, 55), (20, 70), (10, 45)),
    "closed": ((65, 90), (85, 110), (35, 75)),
    "hook": ((-5, 20), (70, 100), (40, 70)),
}
_THUMB_STATES = {  # (radial angle, opposition, MCP, IP) in degrees
    "open": ((40, 70), (0, 30), (-5, 15), (-10, 15)),
    "side": ((5, 20), (0, 15), (0, 20), (0, 20)),
    "across": ((30, 45), (20, 40), (35, 60), (30, 70)),
    "opposed": ((25, 45), (45, 70), (10, 35), (5, 40)),
    "up": ((50, 70), (0, 15), (-5, 10), (-10, 10)),
}
_PRESETS = {  # pose name -> (thumb states, per-finger states index..little); a tuple = pick one at random
    "open": (("open",), ("open", "open", "open", "open")),
    "flat": (("side", "open"), ("open", "open", "open", "open")),
    "relaxed": (("open", "opposed"), ("half", "half", "half", "half")),
    "fist": (("across", "side"), ("closed", "closed", "closed", "closed")),
    "point": (("across", "side"), ("open", "closed", "closed", "closed")),
    "peace": (("across",), ("open", "open", "closed", "closed")),
    "three": (("across",), ("open", "open", "open", "closed")),
    "pinch": (("opposed",), ("half", "half", "half", "half")),
    "ok": (("opposed",), ("half", "open", "open", "open")),
    "thumbs_up": (("up",), ("closed", "closed", "closed", "closed")),
    "call": (("open", "up"), ("closed", "closed", "closed", "open")),
    "claw": (("opposed", "open"), ("hook", "hook", "hook", "hook")),
}


def _sample_range(rng: np.random.Generator, ranges) -> np.ndarray:
    lo, hi = np.asarray(ranges, np.float64).T
    return rng.uniform(lo, hi)


def random_pose(rng: np.random.Generator, name: str | None = None) -> HandPose:
    """A plausible random pose, clipped to the anatomical limits.

    name: one of :data:`POSE_NAMES` ('mixed': each finger picks its own state; 'random': every angle
    uniform within its limits); None picks one, with 'mixed' and 'random' more often.
    """
    if name is None:
        weights = np.array([2.0 if n in ("mixed", "random") else 1.0 for n in POSE_NAMES])
        name = POSE_NAMES[int(rng.choice(len(POSE_NAMES), p=weights / weights.sum()))]
    if name == "random":
        return HandPose(_sample_range(rng, FLEXION_LIMITS_DEG.reshape(-1, 2)).reshape(5, 3) * DEG,
                        _sample_range(rng, ABDUCTION_LIMITS_DEG) * DEG)
    if name == "mixed":
        thumb_state = str(rng.choice(list(_THUMB_STATES)))
        finger_states = [str(rng.choice(list(_FINGER_STATES))) for _ in range(4)]
    elif name in _PRESETS:
        thumbs, finger_states = _PRESETS[name]
        thumb_state = thumbs[int(rng.integers(0, len(thumbs)))]
    else:
        raise ValueError(f"unknown pose name {name!r}; use one of {POSE_NAMES} or None")
    flexion = np.zeros((5, 3))
    abduction = np.zeros(5)
    radial, opposition, mcp, ip = _sample_range(rng, _THUMB_STATES[thumb_state])
    flexion[0] = (opposition, mcp, ip)
    abduction[0] = radial
    for finger, state in enumerate(finger_states, start=1):
        flexion[finger] = _sample_range(rng, _FINGER_STATES[state])
        # Straight fingers may spread; bent ones stay together (the collateral ligaments tighten).
        lo, hi = ABDUCTION_LIMITS_DEG[finger] * (0.8 if state == "open" else 0.2)
        abduction[finger] = rng.uniform(lo, hi)
    if name == "flat":
        abduction[1:] *= 0.2
    return HandPose.from_degrees(flexion, abduction).clipped()


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """(3, 3) rotation uniform over SO(3) (a random unit quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def view_rotation(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """(3, 3) camera-frame rotation: roll about the optical axis, then pitch about x, then yaw about y.

    yaw 180 shows the back of the hand instead of the palm.
    """
    a, b, c = (v * DEG for v in (yaw_deg, pitch_deg, roll_deg))
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return ry @ rx @ rz


# --- a hand placed in front of the camera -------------------------------------------------------------------
@dataclass
class Camera:
    """Pinhole camera: u = focal * x / z + cx, v = focal * y / z + cy (continuous pixel coordinates)."""

    focal: float
    cx: float
    cy: float

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) camera-frame points (z > 0) -> (N, 2) pixels."""
        return points[:, :2] * (self.focal / points[:, 2:3]) + (self.cx, self.cy)


@dataclass
class PlacedHand:
    """A posed hand in the camera frame.

    rotation: (3, 3) applied to the canonical view; translation: (3,) cm, where the hand's centre goes.
    forearm: (3,) hand-frame vector from the wrist to the elbow side (cm), or None for no arm.
    skin: (3,) BGR float; sleeve: BGR of the sleeve over the arm or None.
    """

    pose: HandPose
    shape: HandShape = field(default_factory=HandShape)
    handedness: str = "right"
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 40.0]))
    forearm: np.ndarray | None = field(default_factory=lambda: np.array([0.0, -22.0, 0.0]))
    skin: np.ndarray = field(default_factory=lambda: np.array([128.0, 165.0, 224.0]))
    sleeve: tuple[int, int, int] | None = None
    centre: np.ndarray | None = None  # hand-frame point placed at `translation`; None: joints' box centre

    def __post_init__(self) -> None:
        if self.handedness not in ("left", "right"):
            raise ValueError(f"PlacedHand.handedness must be 'left' or 'right', got {self.handedness!r}")
        self.rotation = np.asarray(self.rotation, np.float64)
        if self.rotation.shape != (3, 3):
            raise ValueError(f"PlacedHand.rotation must be a (3, 3) matrix, got {self.rotation.shape}")

    def local_joints(self) -> np.ndarray:
        """(21, 3) hand-frame joints, cm (computed once: pose and shape do not change once placed)."""
        key = (id(self.pose), id(self.shape))
        if getattr(self, "_local_key", None) != key:
            self._local, self._local_key = joints_3d(self.pose, self.shape), key
        return self._local

    def hand_to_camera(self) -> tuple[np.ndarray, np.ndarray]:
        """(3, 3) linear part (mirror for a left hand, canonical view, rotation) and (3,) offset."""
        mirror = np.diag([-1.0, 1.0, 1.0]) if self.handedness == "left" else np.eye(3)
        linear = self.rotation @ CANONICAL_VIEW @ mirror
        centre = self.centre if self.centre is not None else _box_centre(self.local_joints())
        return linear, np.asarray(self.translation, np.float64) - linear @ centre


def _box_centre(points: np.ndarray) -> np.ndarray:
    return (points.min(axis=0) + points.max(axis=0)) / 2


# --- primitives: what is drawn and what hides joints --------------------------------------------------------
@dataclass
class _Capsules:
    """Tapered capsules in camera space: ends a, b (M, 3) cm, radii (M,) cm, owner hand, incident joints."""

    a: np.ndarray
    b: np.ndarray
    ra: np.ndarray
    rb: np.ndarray
    hand: np.ndarray          # (M,) hand index
    joints: np.ndarray        # (M, 2) joint indices this capsule hangs on (-1: none), never hide those
    color: list               # per capsule BGR float (3,)


@dataclass
class _Palm:
    """The palm slab: outline (P, 3) in camera space on its mid-plane, normal (3,), half thickness cm."""

    outline: np.ndarray
    normal: np.ndarray
    half_thickness: float
    hand: int
    color: np.ndarray
    hull_2d: np.ndarray | None = None


def _finger_radii(shape: HandShape) -> tuple[np.ndarray, np.ndarray]:
    """(5, 3) radius at the start and (5, 3) at the end of each finger bone (tapering to the tip)."""
    taper = np.array([1.0, 0.93, 0.86, 0.78])
    start = shape.radii[:, None] * taper[None, :3]
    end = shape.radii[:, None] * taper[None, 1:]
    start[0, 0] = end[0, 0] = shape.thenar_radius  # thumb metacarpal: the thenar muscles round it
    end[0, 0] = max(shape.radii[0], shape.thenar_radius * 0.8)
    return start, end


def joint_radii(shape: HandShape) -> np.ndarray:
    """(21,) radius of the flesh around each joint, cm (how far its visible surface is from its centre)."""
    start, end = _finger_radii(shape)
    radii = np.empty(NUM_JOINTS)
    radii[0] = shape.wrist_width / 2 * 0.6
    for finger in range(5):
        radii[1 + 4 * finger:4 + 4 * finger] = start[finger]
        radii[4 + 4 * finger] = end[finger, -1]
    return radii


def _palm_outline(shape: HandShape, joints: np.ndarray) -> np.ndarray:
    """(P, 3) hand-frame palm outline around the wrist, the thenar base and the four MCPs."""
    w = shape.wrist_width / 2
    idx, mid, ring, lit = joints[5], joints[9], joints[13], joints[17]
    r = shape.radii
    return np.array([
        (-w, -0.4, 0.0), (w, -0.4, 0.0), (joints[1, 0] + 0.5 * r[0], joints[1, 1], 0.0),
        idx + (0.9 * r[1], -0.3, 0.0), idx + (0.0, 0.6, 0.0), mid + (0.0, 0.6, 0.0), ring + (0.0, 0.6, 0.0),
        lit + (0.0, 0.5, 0.0), lit + (-0.9 * r[4], -0.4, 0.0), (lit[0] - 0.7 * r[4], lit[1] * 0.45, 0.0),
    ])


def _hand_primitives(hand: PlacedHand, index: int) -> tuple[np.ndarray, dict, _Palm]:
    """Camera-frame joints (21, 3), the hand's capsules (as a dict of lists) and its palm."""
    linear, offset = hand.hand_to_camera()
    local = hand.local_joints()
    joints = local @ linear.T + offset
    start, end = _finger_radii(hand.shape)
    caps = {"a": [], "b": [], "ra": [], "rb": [], "hand": [], "joints": [], "color": []}
    for finger in range(5):
        chain = [1 + 4 * finger + k for k in range(4)]
        for k in range(3):
            a, b = joints[chain[k]], joints[chain[k + 1]]
            if k == 2:  # the tip joint is the end of the finger pad: stop the bone one radius short of it
                axis = b - a
                b = b - axis / max(np.linalg.norm(axis), 1e-6) * end[finger, 2] * 0.85
            caps["a"].append(a), caps["b"].append(b)
            caps["ra"].append(start[finger, k]), caps["rb"].append(end[finger, k])
            caps["hand"].append(index), caps["joints"].append((chain[k], chain[k + 1]))
            caps["color"].append(hand.skin)
    if hand.forearm is not None:
        _add_forearm(hand, joints[0], linear, caps, index)
    outline = _palm_outline(hand.shape, local)
    centroid = outline.mean(axis=0)
    inward = centroid - outline
    outline += inward / np.linalg.norm(inward, axis=1, keepdims=True) * hand.shape.palm_thickness / 2 * 0.8
    outline = outline @ linear.T + offset
    normal = linear @ np.array([0.0, 0.0, 1.0])
    palm_color = np.clip(hand.skin * np.array([1.04, 1.04, 1.02]) + 6, 0, 255)
    palm = _Palm(outline, normal / np.linalg.norm(normal), hand.shape.palm_thickness / 2, index, palm_color)
    return joints, caps, palm


def _add_forearm(hand: PlacedHand, wrist: np.ndarray, linear: np.ndarray, caps: dict, index: int) -> None:
    """Append the wrist-to-elbow capsule (and a sleeve) to ``caps``; keeps it in front of the camera."""
    vector = linear @ np.asarray(hand.forearm, np.float64)
    near = 2.0  # cm: never let the arm reach the camera plane
    if wrist[2] + vector[2] < near:
        vector *= max(0.0, (wrist[2] - near)) / max(-vector[2], 1e-6)
    r_wrist = hand.shape.wrist_width / 2 * 0.85
    split = 0.35 if hand.sleeve is not None else 1.0
    mid = wrist + vector * split
    caps["a"].append(wrist), caps["b"].append(mid), caps["ra"].append(r_wrist)
    caps["rb"].append(r_wrist * (1 + 0.25 * split)), caps["hand"].append(index), caps["joints"].append((0, -1))
    caps["color"].append(hand.skin)
    if hand.sleeve is not None:
        caps["a"].append(mid), caps["b"].append(wrist + vector), caps["ra"].append(r_wrist * 1.5)
        caps["rb"].append(r_wrist * 1.7), caps["hand"].append(index), caps["joints"].append((0, -1))
        caps["color"].append(np.asarray(hand.sleeve, np.float64))


def _collect(hands: Sequence[PlacedHand]) -> tuple[list[np.ndarray], _Capsules, list[_Palm]]:
    joints, palms = [], []
    caps = {"a": [], "b": [], "ra": [], "rb": [], "hand": [], "joints": [], "color": []}
    for i, hand in enumerate(hands):
        j, c, p = _hand_primitives(hand, i)
        joints.append(j), palms.append(p)
        for key in caps:
            caps[key].extend(c[key])
    arr = {k: np.asarray(v, np.float64).reshape(-1, 3) if k in ("a", "b") else np.asarray(v) for k, v in
           caps.items() if k != "color"}
    capsules = _Capsules(arr["a"], arr["b"], arr["ra"].astype(np.float64), arr["rb"].astype(np.float64),
                         arr["hand"].astype(int), arr["joints"].reshape(-1, 2).astype(int), caps["color"])
    return joints, capsules, palms


# --- visibility -------------------------------------------------------------------------------------------------
def _occluded_by_capsules(points: np.ndarray, front: np.ndarray, hand: int, caps: _Capsules,
                          camera: Camera) -> np.ndarray:
    """(21,) True where a capsule covers the joint's pixel with a surface nearer than the joint's front."""
    if len(caps.a) == 0:
        return np.zeros(len(points), bool)
    a2, b2 = camera.project(caps.a), camera.project(caps.b)
    ra2, rb2 = camera.focal * caps.ra / caps.a[:, 2], camera.focal * caps.rb / caps.b[:, 2]
    ab = b2 - a2                                                     # (M, 2)
    ap = points[:, None, :] - a2[None]                               # (21, M, 2)
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)
    dist = np.linalg.norm(ap - t[..., None] * ab, axis=-1)
    covered = dist < (ra2 + t * (rb2 - ra2)) * 0.95
    surface = caps.a[:, 2] + t * (caps.b[:, 2] - caps.a[:, 2]) - (caps.ra + t * (caps.rb - caps.ra))
    own = (caps.hand[None] == hand) & ((caps.joints[None, :, 0] == np.arange(21)[:, None])
                                       | (caps.joints[None, :, 1] == np.arange(21)[:, None]))
    return np.any(covered & ~own & (surface < front[:, None] - _JOINT_TOLERANCE_CM), axis=1)


def _palm_hull(palm: _Palm, camera: Camera) -> np.ndarray:
    """(K, 2) float32 convex hull of the projected palm slab (both faces), pixels."""
    if palm.hull_2d is None:
        faces = np.concatenate([palm.outline + palm.normal * palm.half_thickness,
                                palm.outline - palm.normal * palm.half_thickness])
        faces[:, 2] = np.maximum(faces[:, 2], 1e-3)
        palm.hull_2d = cv2.convexHull(camera.project(faces).astype(np.float32)).reshape(-1, 2)
    return palm.hull_2d


def _occluded_by_palm(points: np.ndarray, front: np.ndarray, hand: int, palm: _Palm,
                      camera: Camera) -> np.ndarray:
    """(21,) True where the palm slab covers the joint's pixel with its near face in front of the joint."""
    hull = _palm_hull(palm, camera)
    inside = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), False) > 0 for x, y in points])
    rays = np.concatenate([(points - (camera.cx, camera.cy)) / camera.focal, np.ones((len(points), 1))], axis=1)
    # Where each pixel's ray meets the palm's mid-plane, then step back to the near face along the ray.
    n_dot_ray = rays @ palm.normal
    safe = np.where(np.abs(n_dot_ray) < 1e-6, 1e-6, n_dot_ray)
    depth = (palm.outline[0] @ palm.normal) / safe
    cos = np.abs(n_dot_ray) / np.linalg.norm(rays, axis=1)
    surface = depth - np.minimum(palm.half_thickness / np.maximum(cos, 1e-3), 3 * palm.half_thickness)
    result = inside & (depth > 0) & (surface < front - _JOINT_TOLERANCE_CM)
    if palm.hand == hand:
        result[list(PALM_JOINTS)] = False
    return result


def visibility(joints: list[np.ndarray], hands: Sequence[PlacedHand], caps: _Capsules, palms: list[_Palm],
               camera: Camera, image_size: tuple[int, int]) -> list[np.ndarray]:
    """Per hand a (21,) bool: inside the image and not hidden by any nearer primitive of any hand."""
    width, height = image_size
    result = []
    for i, (j3, hand) in enumerate(zip(joints, hands)):
        points = camera.project(j3)
        front = j3[:, 2] - joint_radii(hand.shape)
        hidden = _occluded_by_capsules(points, front, i, caps, camera)
        for palm in palms:
            hidden |= _occluded_by_palm(points, front, i, palm, camera)
        inside = (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)
        result.append(inside & ~hidden & (j3[:, 2] > 0))
    return result


# --- drawing ---------------------------------------------------------------------------------------------------
_SHIFT = 4
_ONE = 1 << _SHIFT


def _fixed(points: np.ndarray) -> np.ndarray:
    """Continuous pixel coordinates -> OpenCV fixed-point (pixel centres at integers, 1/16 px)."""
    return np.round((np.asarray(points, np.float64) - 0.5) * _ONE).astype(np.int32)


def _capsule_layers(caps: _Capsules, camera: Camera, light: np.ndarray) -> list:
    """Per capsule, the (colour, centre a, centre b, radius a, radius b) OpenCV fixed-point layers to fill:
    a dark rim, the shaded body and a highlight strip towards the light (reads as a cylinder even when
    small). Vectorised over capsules: the drawing loop then only calls OpenCV."""
    a2, b2 = camera.project(caps.a), camera.project(caps.b)
    ra2, rb2 = camera.focal * caps.ra / caps.a[:, 2], camera.focal * caps.rb / caps.b[:, 2]
    axis3 = caps.b - caps.a
    axis3 /= np.maximum(np.linalg.norm(axis3, axis=1, keepdims=True), 1e-6)
    towards_camera = np.array([0.0, 0.0, -1.0])
    normal = towards_camera - (axis3 @ towards_camera)[:, None] * axis3
    norm = np.linalg.norm(normal, axis=1, keepdims=True)
    normal = np.where(norm > 1e-6, normal / np.maximum(norm, 1e-6), towards_camera)
    base = np.asarray(caps.color, np.float64) * (0.55 + 0.55 * np.maximum(0.0, normal @ light))[:, None]
    axis2 = b2 - a2
    perp = np.stack([-axis2[:, 1], axis2[:, 0]], axis=1) / np.maximum(np.hypot(*axis2.T), 1e-6)[:, None]
    offset = perp * ((perp @ light[:2]) * 0.35)[:, None]
    layers = [(np.clip(base * 0.72, 0, 255), a2, b2, ra2, rb2),
              (np.clip(base, 0, 255), a2, b2, ra2 * 0.82, rb2 * 0.82),
              (np.clip(base * 1.12 + 8, 0, 255), a2 + offset * ra2[:, None], b2 + offset * rb2[:, None],
               ra2 * 0.38, rb2 * 0.38)]
    out = []
    for color, a, b, ra, rb in layers:
        axis = b - a
        n = np.stack([-axis[:, 1], axis[:, 0]], axis=1) / np.maximum(np.hypot(*axis.T), 1e-6)[:, None]
        quads = np.stack([a + n * ra[:, None], b + n * rb[:, None], b - n * rb[:, None], a - n * ra[:, None]], 1)
        out.append((color.tolist(), _fixed(a).tolist(), _fixed(b).tolist(), np.round(ra * _ONE).astype(int).tolist(),
                    np.round(rb * _ONE).astype(int).tolist(), _fixed(quads)))
    return out


def _draw_capsule(image: np.ndarray, layers: list, k: int, small: bool) -> None:
    """Fill capsule ``k``'s layers: discs at both ends and the quad between them (only the rim when small)."""
    for color, a, b, ra, rb, quads in layers[:1] if small else layers:
        color = tuple(color[k])
        cv2.circle(image, a[k], ra[k], color, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(image, b[k], rb[k], color, -1, cv2.LINE_AA, _SHIFT)
        cv2.fillConvexPoly(image, quads[k], color, cv2.LINE_AA, _SHIFT)


def _shade(normal: np.ndarray, light: np.ndarray) -> float:
    """Lambert shading with ambient light: 0.55 .. 1.1."""
    return 0.55 + 0.55 * max(0.0, float(normal @ light))


def _draw_palm(image: np.ndarray, palm: _Palm, camera: Camera, light: np.ndarray) -> None:
    """The slab as a sphere-swept polygon: the mid-plane outline filled, its edges swept by a disc of the
    half thickness (rounded rim from every angle), a dark line at the silhouette."""
    facing = palm.normal if palm.normal[2] < 0 else -palm.normal   # the face the camera sees
    base = palm.color if palm.normal[2] < 0 else palm.color * np.array([0.97, 0.96, 0.98])
    color = np.clip(base * _shade(facing, light), 0, 255)
    outline = camera.project(palm.outline)
    rim = camera.focal * palm.half_thickness / float(palm.outline[:, 2].mean())
    pts = [_fixed(outline)]
    cv2.polylines(image, pts, True, tuple(float(c) for c in color * 0.72), max(1, int(round(2 * rim + 2))),
                  cv2.LINE_AA, _SHIFT)
    if rim >= 1.0:
        cv2.polylines(image, pts, True, tuple(float(c) for c in color * 0.9), int(round(2 * rim)),
                      cv2.LINE_AA, _SHIFT)
    cv2.fillPoly(image, pts, tuple(float(c) for c in color), cv2.LINE_AA, _SHIFT)


def _draw_scene(image: np.ndarray, caps: _Capsules, palms: list[_Palm], camera: Camera,
                light: np.ndarray) -> None:
    """Painter's algorithm: every primitive of every hand, far to near by mean depth."""
    depth = (caps.a[:, 2] + caps.b[:, 2]) / 2
    in_front = (np.minimum(caps.a[:, 2], caps.b[:, 2]) > 0.5).tolist()
    small = (camera.focal * np.maximum(caps.ra / caps.a[:, 2], caps.rb / caps.b[:, 2]) < 1.5).tolist()
    layers = _capsule_layers(caps, camera, light) if len(caps.a) else []
    items = [(d, 1, m) for m, d in enumerate(depth.tolist())]
    items += [(float(p.outline[:, 2].mean()), 0, k) for k, p in enumerate(palms)]
    for _, kind, k in sorted(items, key=lambda item: -item[0]):
        if kind == 1:
            if in_front[k]:
                _draw_capsule(image, layers, k, small[k])
        elif palms[k].outline[:, 2].min() > 0.5:
            _draw_palm(image, palms[k], camera, light)


@dataclass
class Rendered:
    """What :func:`render_scene` drew: per hand (21, 2) float32 pixels, (21,) bool visible, (21,) depth cm."""

    points: list[np.ndarray]
    visible: list[np.ndarray]
    depth: list[np.ndarray]


def render_scene(image: np.ndarray, hands: Sequence[PlacedHand], camera: Camera,
                 light: np.ndarray | None = None) -> Rendered:
    """Draw ``hands`` into ``image`` ((H, W, 3) uint8 BGR, in place) and label their joints."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 BGR, got shape {image.shape} dtype {image.dtype}")
    light = np.array([0.3, -0.5, -0.8]) if light is None else np.asarray(light, np.float64)
    light = light / np.linalg.norm(light)
    joints, caps, palms = _collect(hands)
    _draw_scene(image, caps, palms, camera, light)
    visible = visibility(joints, hands, caps, palms, camera, (image.shape[1], image.shape[0]))
    points = [camera.project(j).astype(np.float32) for j in joints]
    return Rendered(points, visible, [j[:, 2].astype(np.float32) for j in joints])


def render(pose: HandPose, rotation: np.ndarray | None = None, handedness: str = "right",
           image_size: tuple[int, int] = (256, 256), hand_px: float = 150.0,
           centre: tuple[float, float] | None = None, shape: HandShape | None = None,
           background: np.ndarray | None = None, distance_cm: float = 45.0, forearm: bool = True,
           skin: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one hand; the low-level entry point for tests and demos.

    rotation: (3, 3) applied to the canonical view (palm to the camera, fingers up); see view_rotation.
    hand_px: the longer side of the joints' tight box, pixels; centre: where that box's centre goes
    (default: the image centre). distance_cm: camera to hand centre (smaller = stronger perspective).
    Returns image (H, W, 3) uint8 BGR, points (21, 2) float32 pixels (all joints), visible (21,) bool.
    """
    width, height = image_size
    image = np.full((height, width, 3), 90, np.uint8) if background is None else background.copy()
    hand = PlacedHand(pose, shape or HandShape(), handedness, np.eye(3) if rotation is None else rotation,
                      np.array([0.0, 0.0, distance_cm]),
                      np.array([0.0, -22.0, 0.0]) if forearm else None,
                      np.array([128.0, 165.0, 224.0]) if skin is None else np.asarray(skin, np.float64))
    centre = (width / 2, height / 2) if centre is None else centre
    camera = _fit_camera([hand], hand_px, centre)
    rendered = render_scene(image, [hand], camera)
    return image, rendered.points[0], rendered.visible[0]


def _fit_camera(hands: Sequence[PlacedHand], box_px: float, centre: tuple[float, float]) -> Camera:
    """A camera (focal, principal point) that puts the first hand's joint box at ``centre`` with its longer
    side ``box_px`` (projection is exact up to this 2D similarity, so the fit is exact)."""
    linear, offset = hands[0].hand_to_camera()
    j3 = hands[0].local_joints() @ linear.T + offset
    if np.any(j3[:, 2] <= 0):
        raise ValueError("the hand reaches behind the camera: increase its distance (translation z)")
    unit = j3[:, :2] / j3[:, 2:3]
    lo, hi = unit.min(axis=0), unit.max(axis=0)
    focal = box_px / max(float((hi - lo).max()), 1e-9)
    mid = (lo + hi) / 2 * focal
    return Camera(focal, centre[0] - mid[0], centre[1] - mid[1])


# --- the generator ----------------------------------------------------------------------------------------------
@dataclass
class SynthConfig:
    """How synthetic frames and crops look.

    width, height: frame size, pixels. max_hands: most hands in a frame (0..max_hands, weighted by
    hand_count_weights when given). min_hand_px / max_hand_frac: the joints' box longer side ranges from
    min_hand_px to max_hand_frac * min(width, height) (log-uniform). jpeg: apply JPEG artefacts sometimes.
    """

    width: int = 384
    height: int = 384
    max_hands: int = 4
    min_hand_px: float = 20.0
    max_hand_frac: float = 0.9
    jpeg: bool = True
    hand_count_weights: tuple[float, ...] | None = None   # len max_hands + 1; default favours 1-2 hands
    fov_deg: tuple[float, float] = (45.0, 75.0)           # horizontal field of view of the frame camera
    distance_radii: tuple[float, float] = (2.2, 9.0)      # crop camera: distance / hand radius (perspective)
    forearm_prob: float = 0.85
    sleeve_prob: float = 0.5
    blur_prob: float = 0.4
    noise_prob: float = 0.5
    jpeg_prob: float = 0.5
    jpeg_quality: tuple[int, int] = (35, 95)

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ValueError(f"SynthConfig width/height must be >= 16 px, got {self.width}x{self.height}")
        if not 0 <= self.max_hands <= 16:
            raise ValueError(f"SynthConfig.max_hands must be in 0..16, got {self.max_hands}")
        if not 0 < self.max_hand_frac <= 1:
            raise ValueError(f"SynthConfig.max_hand_frac must be in (0, 1], got {self.max_hand_frac}")
        if not 4 <= self.min_hand_px <= self.max_hand_frac * min(self.width, self.height):
            raise ValueError(f"SynthConfig.min_hand_px must be in [4, max_hand_frac * min(width, height)], "
                             f"got {self.min_hand_px}")
        if self.hand_count_weights is not None and len(self.hand_count_weights) != self.max_hands + 1:
            raise ValueError(f"SynthConfig.hand_count_weights needs max_hands + 1 = {self.max_hands + 1} "
                             f"weights (for 0..max_hands hands), got {len(self.hand_count_weights)}")


def _count_weights(config: SynthConfig) -> np.ndarray:
    if config.hand_count_weights is not None:
        w = np.asarray(config.hand_count_weights, np.float64)
    else:
        w = np.array([0.1, 0.35, 0.25, 0.15, 0.15] + [0.05] * 12)[:config.max_hands + 1]
    return w / w.sum()


def _random_hand(rng: np.random.Generator, config: SynthConfig, skin: np.ndarray | None = None) -> PlacedHand:
    """A random pose, shape, handedness, orientation, skin and arm (not yet placed)."""
    forearm = None
    if rng.random() < config.forearm_prob:
        flex, dev = rng.uniform(-60, 60) * DEG, rng.uniform(-25, 25) * DEG
        length = rng.uniform(8, 30)
        forearm = length * np.array([np.sin(dev) * np.cos(flex), -np.cos(dev) * np.cos(flex), np.sin(flex)])
    sleeve = tuple(int(c) for c in rng.integers(0, 256, 3)) if rng.random() < config.sleeve_prob else None
    return PlacedHand(random_pose(rng), HandShape.random(rng), "left" if rng.random() < 0.5 else "right",
                      random_rotation(rng), np.zeros(3), forearm,
                      random_skin_color(rng).astype(np.float64) if skin is None else skin, sleeve)


def _hand_extent(hand: PlacedHand) -> tuple[float, float]:
    """(longer side of the joints' box seen orthographically, radius of the joints), cm, camera frame."""
    linear, _ = hand.hand_to_camera()
    j = hand.local_joints() @ linear.T
    centre = _box_centre(j)
    return float((j.max(axis=0) - j.min(axis=0))[:2].max()), float(np.linalg.norm(j - centre, axis=1).max())


def _random_light(rng: np.random.Generator) -> np.ndarray:
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1, 0.6), -rng.uniform(0.4, 1.2)])
    return light / np.linalg.norm(light)


def _augment(rng: np.random.Generator, image: np.ndarray, config: SynthConfig) -> np.ndarray:
    """Camera effects: blur (defocus or motion), lighting (gain, gamma, colour cast), noise, JPEG."""
    if rng.random() < config.blur_prob:
        if rng.random() < 0.75:
            image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.4))
        else:
            k = int(rng.integers(3, 8))
            kernel = np.zeros((k, k), np.float32)
            kernel[k // 2] = 1.0 / k
            rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), rng.uniform(0, 180), 1.0)
            kernel = cv2.warpAffine(kernel, rot, (k, k))
            image = cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    # One lookup table per channel: gain, gamma and a colour cast in a single pass.
    x = np.arange(256, dtype=np.float32) / 255.0
    gamma = np.exp(rng.uniform(-0.35, 0.35))
    gains = rng.uniform(0.65, 1.3) * rng.uniform(0.88, 1.12, 3)
    lut = np.clip(255.0 * (x[:, None] ** gamma) * gains[None, :] + rng.uniform(-15, 15), 0, 255)
    image = cv2.LUT(image, lut.astype(np.uint8).reshape(256, 1, 3))
    if rng.random() < config.noise_prob:
        amplitude = int(rng.integers(3, 14))
        noise = rng.integers(128 - amplitude, 129 + amplitude, image.shape, dtype=np.uint8)
        image = cv2.addWeighted(image, 1.0, noise, 1.0, -128.0)
    if config.jpeg and rng.random() < config.jpeg_prob:
        quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return image


def _label(points: np.ndarray, visible: np.ndarray, handedness: str) -> HandLabel:
    box = np.concatenate([points.min(axis=0), points.max(axis=0)]).astype(np.float32)
    return HandLabel(points.copy(), visible.copy(), box, handedness)


class SyntheticHands:
    """Deterministic synthetic frames and hand crops: item ``index`` of generator ``seed`` is always the same.

    backgrounds: optional real (H, W, 3) uint8 BGR images to crop backgrounds from.
    """

    def __init__(self, config: SynthConfig = SynthConfig(), seed: int = 0,
                 backgrounds: Sequence[np.ndarray] | None = None) -> None:
        self.config = config
        self.seed = int(seed)
        self.backgrounds = backgrounds

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        if index < 0:
            raise IndexError(f"synthetic index must be >= 0, got {index}")
        return np.random.default_rng([self.seed, int(index), stream])

    # frames --------------------------------------------------------------------------------------------------
    def frame(self, index: int) -> Sample:
        """A (height, width) frame with 0..max_hands hands; labels in frame pixels."""
        return self.frame_with_points(index)[0]

    def frame_with_points(self, index: int) -> tuple[Sample, list[np.ndarray]]:
        """The frame and, per hand, all 21 projected joints (21, 2) float32, visible or not."""
        cfg = self.config
        rng = self._rng(index, 0)
        count = int(rng.choice(cfg.max_hands + 1, p=_count_weights(cfg)))
        image = random_background(rng, cfg.width, cfg.height, self.backgrounds)
        hands = [_random_hand(rng, cfg) for _ in range(count)]
        camera = self._place_hands(rng, hands) if hands else None
        labels, all_points = [], []
        if hands:
            rendered = render_scene(image, hands, camera, _random_light(rng))
            for hand, pts, vis in zip(hands, rendered.points, rendered.visible):
                labels.append(_label(pts, vis, hand.handedness))
                all_points.append(pts)
        image = _augment(rng, image, cfg)
        return Sample(image, labels, f"synthetic:seed={self.seed}:frame={index}"), all_points

    def _place_hands(self, rng: np.random.Generator, hands: list[PlacedHand]) -> Camera:
        """Pick each hand's size and position, one frame camera, and put the hands in front of it."""
        cfg = self.config
        short = min(cfg.width, cfg.height)
        top = max(cfg.min_hand_px, cfg.max_hand_frac * short / np.sqrt(len(hands)))
        sizes = np.exp(rng.uniform(np.log(cfg.min_hand_px), np.log(top), len(hands)))
        extents = [_hand_extent(h) for h in hands]
        focal = cfg.width / 2 / np.tan(rng.uniform(*cfg.fov_deg) * DEG / 2)
        # A hand filling the frame must still be in front of the camera: narrow the view if needed.
        focal = max(focal, max(s * 2.0 * r / e for s, (e, r) in zip(sizes, extents)))
        camera = Camera(focal, cfg.width / 2, cfg.height / 2)
        boxes: list[np.ndarray] = []
        for hand, size, (extent, _) in zip(hands, sizes, extents):
            centre = self._free_spot(rng, size, boxes)
            z = focal * extent / size
            hand.translation = np.array([(centre[0] - camera.cx) * z / focal, (centre[1] - camera.cy) * z / focal, z])
            self._refine(hand, camera, size, centre)
            boxes.append(np.array([centre[0] - size / 2, centre[1] - size / 2, centre[0] + size / 2,
                                   centre[1] + size / 2]))
        return camera

    def _free_spot(self, rng: np.random.Generator, size: float, boxes: list[np.ndarray]) -> np.ndarray:
        """A box centre in the frame (up to a quarter of the box may leave it), avoiding heavy overlap."""
        cfg = self.config
        margin = size * 0.25
        best, best_overlap = None, np.inf
        for _ in range(8):
            lo = np.array([size / 2 - margin, size / 2 - margin])
            hi = np.array([cfg.width - size / 2 + margin, cfg.height - size / 2 + margin])
            centre = rng.uniform(np.minimum(lo, hi), np.maximum(lo, hi))
            box = np.array([*(centre - size / 2), *(centre + size / 2)])
            overlap = max((_iou(box, b) for b in boxes), default=0.0)
            if overlap < 0.15:
                return centre
            if overlap < best_overlap:
                best, best_overlap = centre, overlap
        return best

    @staticmethod
    def _refine(hand: PlacedHand, camera: Camera, size: float, centre: np.ndarray) -> None:
        """Two Newton-like steps on depth and position so the projected box matches size and centre."""
        for _ in range(2):
            linear, offset = hand.hand_to_camera()
            j3 = hand.local_joints() @ linear.T + offset
            pts = camera.project(j3)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            scale = float((hi - lo).max()) / size
            t = hand.translation.copy()
            t[2] *= scale
            err = centre - (lo + hi) / 2
            t[:2] = (t[:2] / hand.translation[2]) * t[2] + err * t[2] / camera.focal
            hand.translation = t

    # crops ---------------------------------------------------------------------------------------------------
    def crop(self, index: int, crop_size: int = 128) -> Sample:
        """One hand centred in a (crop_size, crop_size) image, its joints' box's longer side
        crop_size / preprocess.CROP_SCALE, as preprocess.crop_hands would cut it from a frame."""
        return self.crop_with_points(index, crop_size)[0]

    def crop_with_points(self, index: int, crop_size: int = 128) -> tuple[Sample, list[np.ndarray]]:
        """The crop and its hand's 21 projected joints [(21, 2) float32], visible or not."""
        if crop_size < 16:
            raise ValueError(f"crop_size must be >= 16 px, got {crop_size}")
        cfg = self.config
        rng = self._rng(index, 1)
        image = random_background(rng, crop_size, crop_size, self.backgrounds)
        hand = _random_hand(rng, cfg)
        _, radius = _hand_extent(hand)
        hand.translation = np.array([0.0, 0.0, radius * rng.uniform(*cfg.distance_radii)])
        camera = _fit_camera([hand], crop_size / preprocess.CROP_SCALE, (crop_size / 2, crop_size / 2))
        rendered = render_scene(image, [hand], camera, _random_light(rng))
        image = _augment(rng, image, cfg)
        label = _label(rendered.points[0], rendered.visible[0], hand.handedness)
        return Sample(image, [label], f"synthetic:seed={self.seed}:crop={index}"), [rendered.points[0]]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
