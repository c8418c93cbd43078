# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
NYU Depth v2 and SUN RGB-D in the CMX / PrimKD folder layout.

```
ROOT/
  RGB/NAME.jpg|png      8-bit colour
  Depth/NAME.png        single-channel depth; metres per grey level = data.depth_scale
  HHA/NAME.png          optional; usable only as a lossless cache (data.hha_cache = ROOT/HHA;
                        JPEG HHA, as CMX distributes it, is refused)
  Label/NAME.png        0 = unlabeled (255 accepted too), 1..K = classes
  train.txt test.txt    one NAME (or RGB/NAME.jpg ...) per line
  intrinsics/NAME.txt   optional per-image 3x3 K (0-based); else the dataset default
```

Labels become 0..K-1 with 0 -> ignore (255). NYU's colour camera (NYU toolbox, MATLAB
1-based): fx 518.8579, fy 519.4696, cx 325.5824, cy 253.7362 -> cx, cy minus 1 for the 0-based
``CameraIntrinsics``. SUN RGB-D mixes four sensors with per-image calibration; without an
``intrinsics/`` folder the NYU Kinect calibration scaled to the image size is used (an
approximation, logged once).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.labels import IGNORE_INDEX, NYU40, LabelSet
from training.data.files import find_image, read_depth, read_intrinsics, read_label, read_rgb
from training.data.folder import Sample, check_label_range, check_sizes
from training.data.splits import split_names

logger = logging.getLogger(__name__)

# NYU toolbox colour camera, 1-based (MATLAB) principal point; 640x480.
NYU_K_1BASED = (518.85790117450188, 519.46961112127485, 325.58244941119034, 253.73616633400465)
NYU_INTRINSICS = CameraIntrinsics(NYU_K_1BASED[0], NYU_K_1BASED[1], NYU_K_1BASED[2] - 1.0,
                                  NYU_K_1BASED[3] - 1.0, 640, 480)

SUNRGBD37 = LabelSet(name='sunrgbd37', names=NYU40.names[:37], colors=NYU40.colors[:37])


class CMXReader:
    """One split of a CMX-layout dataset as numpy sample dicts (labels shifted to 0..K-1)."""

    def __init__(self, root: str | Path, split: str, labels: LabelSet,
                 default_intrinsics: CameraIntrinsics, depth_scale: float = 0.001,
                 val_holdout: float = 0.0, seed: int = 0, name: str = 'cmx') -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f'dataset folder not found: {self.root}')
        for sub in ('RGB', 'Depth', 'Label'):
            if not (self.root / sub).is_dir():
                raise ValueError(f'{self.root}: missing folder {sub}/ of the CMX layout')
        self.split = split
        self.labels = labels
        self.default_intrinsics = default_intrinsics
        self.depth_scale = float(depth_scale)
        self.names = split_names(self.root, split, val_holdout, seed)
        self.name = name
        self._warned = False

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> Sample:
        return self.load(self.names[index])

    def _intrinsics(self, name: str, width: int, height: int) -> CameraIntrinsics:
        path = self.root / 'intrinsics' / f'{name}.txt'
        if path.is_file():
            return read_intrinsics(path, width, height)
        d = self.default_intrinsics
        if (d.width, d.height) != (width, height) and not self._warned:
            logger.warning('%s: no intrinsics/ folder; using the %dx%d default calibration '
                           'scaled to %dx%d', self.root, d.width, d.height, width, height)
            self._warned = True
        return d if (d.width, d.height) == (width, height) else d.scaled(width, height)

    def load(self, name: str) -> Sample:
        """The sample called ``name``."""
        rgb_path = find_image(self.root / 'RGB', name)
        depth_path = find_image(self.root / 'Depth', name, ('.png',))
        label_path = find_image(self.root / 'Label', name, ('.png',))
        rgb = read_rgb(rgb_path)
        depth, valid = read_depth(depth_path, self.depth_scale)
        raw = read_label(label_path)
        check_sizes(name, rgb=(rgb, rgb_path), depth=(depth, depth_path),
                    label=(raw, label_path))
        k = self.labels.num_classes
        if raw.max(initial=0) > k:  # ids above K (255 is also accepted as "unlabeled")
            check_label_range(raw, k + 1, IGNORE_INDEX, label_path)
        # 0 (and 255) -> ignore, 1..K -> 0..K-1 (CMX's `gt - 1` in uint8)
        unlabeled = (raw == 0) | (raw == IGNORE_INDEX)
        label = np.where(unlabeled, IGNORE_INDEX, raw.astype(np.int32) - 1).astype(np.uint8)
        h, w = label.shape
        return {'name': name, 'rgb': rgb, 'depth_m': depth, 'valid': valid, 'label': label,
                'intrinsics': self._intrinsics(name, w, h)}

    def validate(self) -> None:
        """Read every sample of the split; raises ``ValueError`` naming the first bad file."""
        for name in tqdm(self.names, desc=f'checking {self.root.name}/{self.split}',
                         leave=False, disable=len(self.names) < 50):
            self.load(name)


def nyu_reader(root: str | Path, split: str, depth_scale: float = 0.001,
               val_holdout: float = 0.1, seed: int = 0) -> CMXReader:
    """NYU Depth v2 (40 classes, 795 train / 654 test, 480x640) in the CMX layout."""
    return CMXReader(root, split, NYU40, NYU_INTRINSICS, depth_scale, val_holdout, seed,
                     name='nyu')


def sunrgbd_reader(root: str | Path, split: str, depth_scale: float = 0.001,
                   val_holdout: float = 0.1, seed: int = 0) -> CMXReader:
    """SUN RGB-D (37 classes, 5285 train / 5050 test) in the CMX layout."""
    return CMXReader(root, split, SUNRGBD37, NYU_INTRINSICS, depth_scale, val_holdout, seed,
                     name='sunrgbd')
