"""Body-model constants: COCO keypoints and the DensePose part tables.

Keypoints follow the COCO person category (17 keypoints, 1-based skeleton in the
COCO JSON, 0-based here). DensePose parts follow COCO-DensePose: fine part index
``I`` in 1..24 (0 is background) and 14 coarse parts (the ``dp_masks`` labels).
"""

from __future__ import annotations

NUM_KEYPOINTS = 17
KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
#: Pairs of keypoint names that swap under a horizontal flip (detectron2's ``keypoint_flip_map``).
KEYPOINT_FLIP_MAP: tuple[tuple[str, str], ...] = (
    ("left_eye", "right_eye"),
    ("left_ear", "right_ear"),
    ("left_shoulder", "right_shoulder"),
    ("left_elbow", "right_elbow"),
    ("left_wrist", "right_wrist"),
    ("left_hip", "right_hip"),
    ("left_knee", "right_knee"),
    ("left_ankle", "right_ankle"),
)
#: Skeleton edges as 0-based keypoint index pairs (COCO's ``skeleton`` minus 1).
KEYPOINT_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip

NUM_PARTS = 24
#: Fine DensePose part names, index 0 = background, 1..24 = ``dp_I`` values.
PART_NAMES: tuple[str, ...] = (
    "background",
    "torso_back",
    "torso_front",
    "right_hand",
    "left_hand",
    "left_foot",
    "right_foot",
    "upper_leg_right_back",
    "upper_leg_left_back",
    "upper_leg_right_front",
    "upper_leg_left_front",
    "lower_leg_right_back",
    "lower_leg_left_back",
    "lower_leg_right_front",
    "lower_leg_left_front",
    "upper_arm_left_front",
    "upper_arm_right_front",
    "upper_arm_left_back",
    "upper_arm_right_back",
    "lower_arm_left_front",
    "lower_arm_right_front",
    "lower_arm_left_back",
    "lower_arm_right_back",
    "head_right",
    "head_left",
)
#: Fine part that a fine part becomes under a horizontal image flip (index 0..24).
PART_FLIP: tuple[int, ...] = (
    0, 1, 2, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23,
)  # fmt: skip

NUM_COARSE_PARTS = 14
#: Coarse part names of ``dp_masks``: mask k (0-based) holds coarse label k + 1.
COARSE_PART_NAMES: tuple[str, ...] = (
    "torso",
    "right_hand",
    "left_hand",
    "left_foot",
    "right_foot",
    "upper_leg_right",
    "upper_leg_left",
    "lower_leg_right",
    "lower_leg_left",
    "upper_arm_left",
    "upper_arm_right",
    "lower_arm_left",
    "lower_arm_right",
    "head",
)
#: Coarse label (0..14) of each fine part (0..24).
FINE_TO_COARSE: tuple[int, ...] = (
    0, 1, 1, 2, 3, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 14,
)  # fmt: skip

#: COCO category id of ``person``, the only category of our datasets and results.
PERSON_CATEGORY_ID = 1


def person_category(coarse_parts: bool = False) -> dict:
    """The COCO ``person`` category (id :data:`PERSON_CATEGORY_ID`): the 17 keypoint names and the
    1-based skeleton; with ``coarse_parts`` also ``densepose_coarse_parts`` (the names of the 14
    ``dp_masks``, as the demo dataset writes them)."""
    category = {
        "id": PERSON_CATEGORY_ID,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(KEYPOINT_NAMES),
        "skeleton": [[a + 1, b + 1] for a, b in KEYPOINT_SKELETON],
    }
    if coarse_parts:
        category["densepose_coarse_parts"] = list(COARSE_PART_NAMES)
    return category
