# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The synthetic world's 14 semantic classes and which sensor modality separates each of them.

Some classes are separable from their look-alikes **only by geometry** (depth/HHA) and some
**only by appearance** (RGB). That is designed, so that single-modality models, fusion models
and cross-modal distillation have something measurable to gain from the other modality:

| class | look-alike | separable by | why |
| --- | --- | --- | --- |
| floor_mat | floor | depth | always the floor's own world-anchored material, 3-6 cm raised |
| cabinet | wall | depth | ~45 % carry the wall's material, no handles |
| box | picture | depth | ~30 % are wrapped in a picture of the same room |
| picture | wall | rgb | flush: 2 mm proud of the wall, below the depth noise |
| box, crate | each other | rgb | one shape distribution; cardboard vs glossy plastic |
| window | wall | rgb | flush glass; depth only shows holes (transparent) |

Everything else (floor, wall, ceiling, table, chair, shelf, door, object) differs in both.
"""

from __future__ import annotations

from rgbd_seg_ros.core.labels import LabelSet

FLOOR = 0
WALL = 1
CEILING = 2
TABLE = 3
CHAIR = 4
CABINET = 5
SHELF = 6
BOX = 7
CRATE = 8
OBJECT = 9
PICTURE = 10
WINDOW = 11
DOOR = 12
FLOOR_MAT = 13
UNLABELED = 255  # ceiling lamps and anything else without a class

SYNTHETIC_LABELS = LabelSet(
    name='synthetic14',
    names=(
        'floor', 'wall', 'ceiling', 'table', 'chair', 'cabinet', 'shelf', 'box', 'crate',
        'object', 'picture', 'window', 'door', 'floor_mat',
    ),
    colors=(
        (152, 118, 84),   # floor
        (174, 199, 232),  # wall
        (220, 220, 150),  # ceiling
        (255, 127, 14),   # table
        (44, 160, 44),    # chair
        (214, 39, 40),    # cabinet
        (148, 103, 189),  # shelf
        (140, 86, 75),    # box
        (23, 190, 207),   # crate
        (227, 119, 194),  # object
        (255, 187, 120),  # picture
        (31, 119, 180),   # window
        (188, 189, 34),   # door
        (127, 127, 127),  # floor_mat
    ),
)

# Which modality is needed to tell the class from its designed look-alike (see module docstring).
CLASS_CUES: dict[str, str] = {
    'floor': 'both',
    'wall': 'both',
    'ceiling': 'both',
    'table': 'both',
    'chair': 'both',
    'cabinet': 'depth',
    'shelf': 'both',
    'box': 'rgb',  # rgb against crate; depth against the picture it may be wrapped in
    'crate': 'rgb',
    'object': 'both',
    'picture': 'rgb',
    'window': 'rgb',
    'door': 'both',
    'floor_mat': 'depth',
}

# The designed look-alike pairs: (class, look-alike, modality that separates them).
AMBIGUOUS_PAIRS: tuple[tuple[str, str, str], ...] = (
    ('floor_mat', 'floor', 'depth'),
    ('cabinet', 'wall', 'depth'),
    ('box', 'picture', 'depth'),
    ('picture', 'wall', 'rgb'),
    ('box', 'crate', 'rgb'),
    ('window', 'wall', 'rgb'),
)
