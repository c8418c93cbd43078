# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Procedural materials: albedo textures evaluated at surface coordinates, plus reflectance flags.

Every material is a small parameter set (colours, pattern scale, a value-noise lattice) drawn
from a random generator, so two instances of the same kind differ (per-instance colour
variation). Textures are evaluated per pixel from surface coordinates ``uv`` (metres along the
surface) and ``uvn`` (0..1 across the face, used by pictures and windows). Colours are linear
RGB in 0..1; the renderer applies lighting, exposure and the sRGB curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KNOWN_MATERIALS = (
    'paint', 'wallpaper', 'fabric', 'tiles', 'wood', 'cardboard', 'plastic', 'metal', 'picture',
    'glass', 'lamp',
)

_LATTICE = 64  # value-noise lattice size (tiles every 64 cells; a power of two)
_NOISE_SHIFT = 64 * 4096  # makes lattice coordinates positive


@dataclass(eq=False)
class Material:
    """Parameters of one procedural material (linear RGB colours in 0..1)."""

    kind: str  # one of KNOWN_MATERIALS
    color_a: np.ndarray  # (3,) main albedo
    color_b: np.ndarray  # (3,) second albedo (stripes, tiles, wood tone range)
    color_c: np.ndarray  # (3,) accent: grout, tape, frame
    scale_m: float  # pattern period in metres (tile size, stripe period, plank width)
    noise_amp: float  # relative albedo noise amplitude
    lattice: np.ndarray  # [64, 64] float32 value-noise lattice in 0..1
    palette: np.ndarray  # [4, 3] picture colours
    style: int = 0  # kind-specific variant (picture style, mullion layout)
    frame_frac: float = 0.0  # frame width as a fraction of the face (picture, window)
    world_uv: bool = False  # texture anchored to world coordinates (continues across surfaces)
    specular: float = 0.0  # Blinn-Phong specular weight
    shininess: float = 32.0  # Blinn-Phong exponent
    transparent: bool = False  # glass: the depth sensor sees through it
    emission: float = 0.0  # > 0: self-lit surface with this radiance (lamps, sky in windows)

    _corners: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KNOWN_MATERIALS:
            raise ValueError(f'unknown material {self.kind!r}; expected one of {KNOWN_MATERIALS}')

    @property
    def corners(self) -> np.ndarray:
        """Packed lattice cells for value noise (computed on first use)."""
        if self._corners is None:
            self._corners = _corner_table(self.lattice)
        return self._corners


def srgb_to_linear(c: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """SRGB 0..1 -> linear 0..1 (gamma 2.2 approximation), float32."""
    return np.power(np.clip(np.asarray(c, dtype=np.float32), 0.0, 1.0), 2.2)


_WALL_COLORS = (
    (0.92, 0.91, 0.87), (0.88, 0.84, 0.76), (0.80, 0.82, 0.84), (0.78, 0.85, 0.80),
    (0.86, 0.80, 0.70), (0.74, 0.80, 0.88), (0.93, 0.88, 0.72), (0.84, 0.78, 0.80),
)
_WOOD_COLORS = ((0.55, 0.38, 0.22), (0.70, 0.52, 0.33), (0.40, 0.26, 0.15), (0.78, 0.64, 0.45))
_FURNITURE_COLORS = (
    (0.90, 0.90, 0.88), (0.25, 0.25, 0.27), (0.55, 0.55, 0.57), (0.60, 0.45, 0.30),
    (0.35, 0.45, 0.60), (0.70, 0.25, 0.20), (0.30, 0.50, 0.35), (0.85, 0.75, 0.55),
)
_FLOOR_FABRIC = ((0.45, 0.45, 0.47), (0.35, 0.40, 0.52), (0.55, 0.48, 0.40), (0.30, 0.33, 0.30))
_TILE_COLORS = ((0.85, 0.84, 0.80), (0.62, 0.60, 0.58), (0.75, 0.68, 0.58), (0.45, 0.45, 0.47))
_VIVID = (
    (0.85, 0.15, 0.12), (0.12, 0.45, 0.85), (0.15, 0.65, 0.25), (0.95, 0.75, 0.10),
    (0.55, 0.20, 0.70), (0.95, 0.45, 0.10), (0.10, 0.65, 0.70), (0.90, 0.90, 0.90),
    (0.08, 0.08, 0.09),
)


_NO_PALETTE = np.zeros((4, 3), np.float32)
_GREY = np.full(3, 0.3 ** 2.2, np.float32)


class _Draws:
    """Uniform numbers drawn from ``rng`` in one call (cheap parameter sampling)."""

    def __init__(self, rng: np.random.Generator, n: int = 96) -> None:
        self._u = rng.random(n).tolist()
        self._i = 0

    def uniform(self, lo: float = 0.0, hi: float = 1.0) -> float:
        self._i += 1
        return lo + (hi - lo) * self._u[self._i - 1]

    def pick(self, options: tuple) -> tuple:
        return options[min(int(self.uniform() * len(options)), len(options) - 1)]

    def integer(self, n: int) -> int:
        return min(int(self.uniform() * n), n - 1)

    def jitter(self, srgb: tuple[float, ...], amount: float) -> np.ndarray:
        """Per-instance colour variation: brightness and hue jitter in sRGB, then linear."""
        gain = self.uniform(1.0 - amount, 1.0 + amount)
        half = 0.433 * amount  # uniform with the std of N(0, amount / 4)
        return np.array([min(max(c * gain + self.uniform(-half, half), 0.0), 1.0) ** 2.2
                         for c in srgb], np.float32)


def random_material(rng: np.random.Generator, kind: str, **overrides: object) -> Material:
    """
    Draw a material of ``kind`` with random colours and pattern parameters.

    ``overrides`` replace any drawn field (e.g. ``world_uv=True``, ``specular=0.6``).
    """
    if kind not in KNOWN_MATERIALS:
        raise ValueError(f'unknown material {kind!r}; expected one of {KNOWN_MATERIALS}')
    lattice = rng.random((_LATTICE, _LATTICE), dtype=np.float32)
    r = _Draws(rng)
    params: dict[str, object] = dict(
        kind=kind, color_a=_GREY, color_b=_GREY, color_c=_GREY, scale_m=0.5, noise_amp=0.08,
        lattice=lattice, palette=_NO_PALETTE,
    )
    if kind == 'paint':
        params.update(color_a=r.jitter(r.pick(_WALL_COLORS + _FURNITURE_COLORS[:1]), 0.06),
                      noise_amp=r.uniform(0.03, 0.08), scale_m=r.uniform(0.4, 1.5))
    elif kind == 'wallpaper':
        base = r.pick(_WALL_COLORS)
        params.update(color_a=r.jitter(base, 0.05),
                      color_b=r.jitter(tuple(v * r.uniform(0.75, 0.92) for v in base), 0.05),
                      scale_m=r.uniform(0.05, 0.25), noise_amp=0.04, style=r.integer(2))
    elif kind == 'fabric':
        base = r.pick(_FLOOR_FABRIC + _FURNITURE_COLORS)
        params.update(color_a=r.jitter(base, 0.12),
                      color_b=r.jitter(tuple(v * 0.75 for v in base), 0.1),
                      scale_m=r.uniform(0.05, 0.3), noise_amp=0.15)
    elif kind == 'tiles':
        params.update(color_a=r.jitter(r.pick(_TILE_COLORS), 0.05),
                      color_b=r.jitter(r.pick(_TILE_COLORS), 0.05),
                      color_c=r.jitter((0.35, 0.34, 0.32), 0.1),
                      scale_m=r.uniform(0.25, 0.6), noise_amp=0.05,
                      style=r.integer(2), specular=r.uniform(0.05, 0.3),
                      shininess=r.uniform(20, 60))
    elif kind == 'wood':
        base = r.pick(_WOOD_COLORS)
        params.update(color_a=r.jitter(base, 0.1),
                      color_b=r.jitter(tuple(v * 0.72 for v in base), 0.1),
                      color_c=r.jitter(tuple(v * 0.45 for v in base), 0.05),
                      scale_m=r.uniform(0.09, 0.2), noise_amp=0.12,
                      specular=r.uniform(0.0, 0.15), shininess=r.uniform(10, 40))
    elif kind == 'cardboard':
        params.update(color_a=r.jitter((0.62, 0.46, 0.30), 0.1),
                      color_b=r.jitter((0.52, 0.38, 0.24), 0.1),
                      color_c=r.jitter(r.pick(((0.72, 0.60, 0.42), (0.85, 0.85, 0.82))), 0.05),
                      scale_m=r.uniform(0.04, 0.09), noise_amp=0.1)
    elif kind == 'plastic':
        params.update(color_a=r.jitter(r.pick(_VIVID), 0.1), noise_amp=0.03,
                      specular=r.uniform(0.3, 0.8), shininess=r.uniform(30, 120))
    elif kind == 'metal':
        params.update(color_a=r.jitter((0.62, 0.63, 0.65), 0.15), noise_amp=0.06,
                      scale_m=0.02, specular=r.uniform(0.5, 1.0), shininess=r.uniform(40, 150))
    elif kind == 'picture':
        params.update(palette=np.stack([r.jitter(r.pick(_VIVID + _WALL_COLORS), 0.2)
                                        for _ in range(4)]),
                      color_c=r.jitter(r.pick(((0.1, 0.1, 0.1), (0.55, 0.4, 0.25),
                                               (0.9, 0.9, 0.88), (0.7, 0.6, 0.3))), 0.1),
                      frame_frac=r.uniform(0.03, 0.09), style=r.integer(3),
                      noise_amp=0.05, specular=r.uniform(0.0, 0.2), shininess=60.0)
    elif kind == 'glass':
        params.update(color_a=r.jitter((0.70, 0.82, 0.95), 0.08),
                      color_b=r.jitter((0.92, 0.93, 0.90), 0.05),
                      color_c=r.jitter(r.pick(((0.92, 0.92, 0.9), (0.2, 0.2, 0.22),
                                               (0.5, 0.36, 0.22))), 0.05),
                      frame_frac=r.uniform(0.03, 0.06), style=r.integer(3),
                      transparent=True, emission=r.uniform(1.2, 2.0), specular=0.3,
                      shininess=80.0)
    elif kind == 'lamp':
        params.update(color_a=srgb_to_linear((1.0, 0.97, 0.9)), emission=r.uniform(2.0, 3.0))
    params.update(overrides)
    return Material(**params)  # type: ignore[arg-type]


def _corner_table(lattice: np.ndarray) -> np.ndarray:
    """
    The four lattice corners of every cell packed as one complex128 per cell (4 x float32),
    so value noise needs a single gather per pixel.
    """
    wrapped = np.pad(lattice, ((0, 1), (0, 1)), mode='wrap')
    corners = np.stack([wrapped[:-1, :-1], wrapped[:-1, 1:], wrapped[1:, :-1], wrapped[1:, 1:]],
                       axis=-1)
    return np.ascontiguousarray(corners, dtype=np.float32).view(np.complex128).ravel()


def value_noise(lattice: np.ndarray, x: np.ndarray, y: np.ndarray,
                corners: np.ndarray | None = None) -> np.ndarray:
    """
    Smooth value noise in 0..1 at lattice coordinates ``x``, ``y`` (float32 ``[N]``, tiling).

    ``corners`` is ``_corner_table(lattice)``, passed to avoid recomputing it.
    """
    n = lattice.shape[0]  # a power of two
    mask = n - 1
    if corners is None:
        corners = _corner_table(lattice)
    # shift to positive coordinates (a multiple of n) so truncation is floor
    xs = x + np.float32(_NOISE_SHIFT)
    ys = y + np.float32(_NOISE_SHIFT)
    xi = xs.astype(np.int32)
    yi = ys.astype(np.int32)
    fx = xs - xi.astype(np.float32)
    fy = ys - yi.astype(np.float32)
    fx = fx * fx * (3.0 - 2.0 * fx)
    fy = fy * fy * (3.0 - 2.0 * fy)
    quad = corners[(yi & mask) * n + (xi & mask)].view(np.float32).reshape(-1, 4)
    a, b, c, d = quad[:, 0], quad[:, 1], quad[:, 2], quad[:, 3]
    ab = a + (b - a) * fx
    cd = c + (d - c) * fx
    return ab + (cd - ab) * fy


def _vn(mat: Material, x: np.ndarray, y: np.ndarray | float) -> np.ndarray:
    """Value noise of the material's lattice."""
    if np.isscalar(y):
        y = np.full_like(x, y)
    return value_noise(mat.lattice, x, y, mat.corners)


def _fbm(mat: Material, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Two-octave value noise in 0..1."""
    return (_vn(mat, x, y) * 2.0 + _vn(mat, x * 2.03 + 17.0, y * 2.03 + 31.0)) / 3.0


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-pixel blend of two colours ``(3,)`` by ``t`` ``[N]`` -> ``[N, 3]``."""
    return a[None, :] + (b - a)[None, :] * t[:, None]


def _hash_cells(lattice: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """A pseudo-random value in 0..1 per integer cell (i, j) (float arrays of whole numbers)."""
    n = lattice.shape[0]
    ii = (i + _NOISE_SHIFT).astype(np.int32) & (n - 1)
    jj = ((j + _NOISE_SHIFT).astype(np.int32) * 7 + 3) & (n - 1)
    return lattice.ravel()[ii * n + jj]


def ir_albedo(mat: Material) -> float:
    """Near-infrared albedo proxy of a material: luminance of its main colour (glass: 1)."""
    if mat.kind in ('glass', 'lamp', 'picture'):
        return 1.0
    return float(mat.color_a @ np.array([0.2126, 0.7152, 0.0722], np.float32))


def texture(mat: Material, u: np.ndarray, v: np.ndarray, un: np.ndarray, vn: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """
    Albedo and emission of ``mat`` at surface points.

    :param u: ``[N]`` float32 surface coordinate in metres; ``v`` likewise.
    :param un: ``[N]`` float32 coordinate 0..1 across the face (pictures, windows); ``vn``
        likewise, running bottom to top on vertical faces.
    :returns: ``(albedo [N, 3] float32 linear RGB, emission [N] float32)``.
    """
    lat = mat.lattice
    emission = np.zeros(u.shape[0], np.float32)
    kind = mat.kind
    if kind == 'paint':
        n = _vn(mat, u / mat.scale_m, v / mat.scale_m)
        albedo = mat.color_a[None, :] * (1.0 + mat.noise_amp * (n - 0.5))[:, None]
    elif kind == 'wallpaper':
        coord = u if mat.style == 0 else u + 0.5 * v
        phase = np.mod(coord / mat.scale_m, 1.0)
        t = (phase < 0.5).astype(np.float32)
        albedo = _mix(mat.color_a, mat.color_b, t)
        albedo *= (1.0 + mat.noise_amp * (_vn(mat, u * 40.0, v * 40.0) - 0.5))[:, None]
    elif kind == 'fabric':
        t = _fbm(mat, u / mat.scale_m, v / mat.scale_m)
        albedo = _mix(mat.color_a, mat.color_b, t)
        albedo *= (1.0 + mat.noise_amp * (_vn(mat, u * 150.0, v * 150.0) - 0.5))[:, None]
    elif kind == 'tiles':
        s = mat.scale_m
        iu = np.floor(u / s)
        iv = np.floor(v / s)
        if mat.style == 0:
            t = np.mod(iu + iv, 2.0)
        else:
            t = _hash_cells(lat, iu, iv) * 0.35
        albedo = _mix(mat.color_a, mat.color_b, t)
        albedo *= (1.0 + mat.noise_amp * (_fbm(mat, u * 8.0, v * 8.0) - 0.5))[:, None]
        fu = np.mod(u / s, 1.0)
        fv = np.mod(v / s, 1.0)
        gw = 0.006 / s
        grout = (fu < gw) | (fv < gw) | (fu > 1.0 - gw) | (fv > 1.0 - gw)
        albedo[grout] = mat.color_c
    elif kind == 'wood' and mat.world_uv:  # floorboards: planks with dark gaps
        w = mat.scale_m
        vw = v * (1.0 / w)
        row = np.floor(vw)
        along = u * (1.0 / (12.0 * w)) + _hash_cells(lat, row, row * 3.0)  # staggered joints
        col = np.floor(along)
        tone = _hash_cells(lat, row, col)
        grain = _vn(mat, u * 3.0 + col * 11.0, vw * 6.0)
        t = np.clip(0.5 * tone + 0.6 * grain - 0.1, 0.0, 1.0)
        albedo = _mix(mat.color_a, mat.color_b, t)
        gap = (vw - row < 0.025) | (along - col < 0.004)
        albedo[gap] = mat.color_c
    elif kind == 'wood':  # solid furniture wood: stretched grain, no planks
        grain = _fbm(mat, u * 1.5, v * 25.0)
        albedo = _mix(mat.color_a, mat.color_b, np.clip(1.4 * grain - 0.2, 0.0, 1.0))
    elif kind == 'cardboard':
        t = _vn(mat, u * 4.0, v / mat.scale_m * 3.0)
        albedo = _mix(mat.color_a, mat.color_b, t)
        albedo *= (1.0 + mat.noise_amp * (_vn(mat, u * 90.0, v * 90.0) - 0.5))[:, None]
        tape = np.abs(un - 0.5) < 0.07
        albedo[tape] = mat.color_c
    elif kind in ('plastic', 'metal'):
        freq = 1.0 / max(mat.scale_m, 1e-3)
        n = _vn(mat, u * 3.0, v * freq) if kind == 'metal' else _vn(mat, u * 4.0, v * 4.0)
        albedo = mat.color_a[None, :] * (1.0 + mat.noise_amp * (n - 0.5))[:, None]
    elif kind == 'picture':
        albedo = _picture(mat, un, vn)
    elif kind == 'glass':
        albedo, emission = _window(mat, un, vn)
    else:  # lamp
        albedo = np.repeat(mat.color_a[None, :], u.shape[0], axis=0)
        emission[:] = mat.emission
    return albedo.astype(np.float32, copy=False), emission


def _picture(mat: Material, un: np.ndarray, vn: np.ndarray) -> np.ndarray:
    """A framed random image: smooth abstract, colour blocks, or a landscape."""
    f = mat.frame_frac
    x = (un - f) / (1.0 - 2.0 * f)
    y = 1.0 - (vn - f) / (1.0 - 2.0 * f)  # image rows run top to bottom
    lat = mat.lattice
    pal = mat.palette
    if mat.style == 0:  # smooth abstract
        t = np.clip(_fbm(mat, x * 3.0, y * 3.0) * 1.6 - 0.3, 0.0, 0.999) * 3.0
        i = t.astype(np.int32)
        frac = (t - i)[:, None]
        albedo = pal[i] * (1.0 - frac) + pal[np.minimum(i + 1, 3)] * frac
    elif mat.style == 1:  # colour blocks
        cells = _hash_cells(lat, np.floor(x * 3.0), np.floor(y * 4.0))
        albedo = pal[np.minimum((cells * 4.0).astype(np.int32), 3)]
        border = (np.mod(x * 3.0, 1.0) < 0.04) | (np.mod(y * 4.0, 1.0) < 0.04)
        albedo = np.where(border[:, None], 0.02, albedo)
    else:  # landscape: sky over ground
        horizon = 0.45 + 0.15 * (_vn(mat, x * 2.0, 5.0) - 0.5)
        sky = (y < horizon)[:, None]
        ground = _mix(pal[1], pal[2], _fbm(mat, x * 6.0, y * 6.0))
        sky_col = _mix(srgb_to_linear((0.45, 0.65, 0.9)), srgb_to_linear((0.9, 0.9, 0.95)),
                       np.clip(y / np.maximum(horizon, 1e-3), 0.0, 1.0))
        albedo = np.where(sky, sky_col, ground)
    albedo = albedo * (1.0 + mat.noise_amp * (_vn(mat, x * 80.0, y * 80.0) - 0.5))[:, None]
    frame = (un < f) | (un > 1.0 - f) | (vn < f) | (vn > 1.0 - f)
    return np.where(frame[:, None], mat.color_c[None, :], albedo)


def _window(mat: Material, un: np.ndarray, vn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window: a frame with mullions around self-lit sky; emission only on the glass."""
    f = mat.frame_frac
    x = un
    y = vn
    frame = (x < f) | (x > 1.0 - f) | (y < f) | (y > 1.0 - f)
    if mat.style >= 1:
        frame |= np.abs(x - 0.5) < 0.5 * f
    if mat.style == 2:
        frame |= np.abs(y - 0.4) < 0.5 * f
    # uvn y runs bottom -> top on walls (z up); sky brighter towards the top, trees at the bottom
    sky = _mix(mat.color_b, mat.color_a, np.clip(y * 1.2, 0.0, 1.0))
    clouds = _fbm(mat, x * 4.0, y * 2.0)
    sky = sky * (0.9 + 0.2 * clouds)[:, None]
    trees = y < 0.25 + 0.15 * _vn(mat, x * 6.0, 3.0)
    green = _mix(srgb_to_linear((0.25, 0.4, 0.2)), srgb_to_linear((0.4, 0.5, 0.3)),
                 _vn(mat, x * 30.0, y * 30.0))
    glass = np.where(trees[:, None], green, sky)
    albedo = np.where(frame[:, None], mat.color_c[None, :], glass)
    emission = np.where(frame, 0.0, mat.emission).astype(np.float32)
    return albedo, emission
