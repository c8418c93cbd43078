# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The layer rules: which layer may import which, who may touch ROS, no import circles.

Checked on the AST (every ``import``/``from ... import`` anywhere in a file, including inside
functions), so a lazy import in a rarely used branch is caught too. Imports under
``if TYPE_CHECKING:`` are annotations only: they count for the layer rules, not for circles.
"""

import ast
from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_ROOTS = ('rclpy', 'cv_bridge', 'message_filters', 'rosidl_runtime_py', 'launch_ros',
                   'rosbag2_py', 'rcl_interfaces', 'rosgraph_msgs', 'builtin_interfaces')

# Layer (module prefix) -> (first-party layers it may import, whether it may import ROS).
# The most specific prefix applies: rgbd_seg_ros.replay.live is not the offline replay.
LAYERS = {
    'rgbd_seg_ros.core': (('rgbd_seg_ros.core',), False),
    'rgbd_seg_ros.sim': (('rgbd_seg_ros.core', 'rgbd_seg_ros.sim'), False),
    'rgbd_seg_ros.ros': (('rgbd_seg_ros.core', 'rgbd_seg_ros.ros'), True),
    'rgbd_seg_ros.nodes': (('rgbd_seg_ros.core', 'rgbd_seg_ros.ros', 'rgbd_seg_ros.sim'), True),
    'rgbd_seg_ros.replay': (('rgbd_seg_ros.core', 'rgbd_seg_ros.replay', 'rgbd_seg_ros.sim'),
                            False),
    'rgbd_seg_ros.replay.live': (('rgbd_seg_ros.core', 'rgbd_seg_ros.replay',
                                  'rgbd_seg_ros.ros'), True),
    'training': (('rgbd_seg_ros.core', 'rgbd_seg_ros.sim', 'training'), False),
    'tools': (('rgbd_seg_ros.core', 'rgbd_seg_ros.sim', 'rgbd_seg_ros.replay', 'training',
               'tools'), False),
    # the live demo drives nodes over DDS, like replay/live
    'tools.demo_live': (('rgbd_seg_ros.core', 'rgbd_seg_ros.sim', 'rgbd_seg_ros.replay',
                         'tools'), True),
}
PACKAGE_ROOT = {'rgbd_seg_ros': ((), False)}  # rgbd_seg_ros/__init__.py imports nothing heavy


def forbidden(module: str) -> bool:
    """True for ROS client libraries, ROS-only tools and any message package (``*_msgs``)."""
    root = module.split('.')[0]
    return root in FORBIDDEN_ROOTS or root.endswith('_msgs')


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def imported_modules(path: Path, with_type_checking: bool = True) -> list[tuple[int, str]]:
    """``(line, module)`` of each absolute import in ``path``; ``from a import b`` adds ``a.b``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = set() if with_type_checking else _type_checking_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f'{node.module}.{alias.name}') for alias in node.names]
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for tree in ('rgbd_seg_ros', 'training', 'tools'):
        for f in sorted((REPO / tree).rglob('*.py')):
            parts = list(f.relative_to(REPO).with_suffix('').parts)
            if parts[-1] == '__init__':
                parts = parts[:-1]
            out['.'.join(parts)] = f
    return out


MODULES = _modules()


def _first_party(name: str) -> str | None:
    """The first-party module ``name`` refers to (itself or a parent), None for others."""
    while name and name not in MODULES:
        name = name.rpartition('.')[0]
    return name or None


def _layer(module: str) -> tuple[str, tuple[tuple[str, ...], bool]]:
    best = max((p for p in LAYERS if module == p or module.startswith(p + '.')), key=len,
               default=None)
    if best is None:
        return module, PACKAGE_ROOT.get(module, ((), False))
    return best, LAYERS[best]


def _inside(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + '.') for p in prefixes)


def test_forbidden_matches_ros_modules_only():
    assert forbidden('rclpy.node') and forbidden('sensor_msgs.msg') and forbidden('cv_bridge')
    assert forbidden('diagnostic_msgs') and forbidden('message_filters')
    assert not forbidden('numpy') and not forbidden('torch.nn') and not forbidden('msgspec')
    assert not forbidden('rosbags.highlevel')  # the bag reader decodes CDR without ROS


def test_detector_sees_imports_inside_functions(tmp_path):
    f = tmp_path / 'lazy.py'
    f.write_text('def g():\n    from sensor_msgs.msg import Image\n    import rclpy\n'
                 'from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n')
    assert [m for _, m in imported_modules(f) if forbidden(m)] == [
        'sensor_msgs.msg', 'sensor_msgs.msg.Image', 'rclpy']
    assert 'torch' in [m for _, m in imported_modules(f)]
    assert 'torch' not in [m for _, m in imported_modules(f, with_type_checking=False)]


def test_layers_cover_every_module():
    unplaced = [m for m in MODULES if _layer(m)[0] not in LAYERS and m not in PACKAGE_ROOT]
    assert not unplaced, f'modules outside every layer of LAYERS: {unplaced}'
    assert _layer('rgbd_seg_ros.replay.live.player')[0] == 'rgbd_seg_ros.replay.live'
    assert _layer('rgbd_seg_ros.replay.evaluate')[0] == 'rgbd_seg_ros.replay'


@pytest.mark.parametrize('layer', sorted(LAYERS))
def test_layer_imports_only_what_it_may(layer):
    offenders = []
    for module, path in MODULES.items():
        if _layer(module)[0] != layer:
            continue
        allowed, ros_ok = LAYERS[layer]
        for line, name in imported_modules(path):
            where = f'{path.relative_to(REPO)}:{line}: {name}'
            if forbidden(name) and not ros_ok:
                offenders.append(where + ' (ROS in a ROS-free layer)')
            target = _first_party(name)
            if target is not None and not _inside(target, allowed) and target != 'rgbd_seg_ros':
                offenders.append(where + f' ({layer} may import only {allowed})')
    assert not offenders, 'layer rule broken:\n' + '\n'.join(sorted(set(offenders)))


def test_no_import_circles():
    graph = {}
    for module, path in MODULES.items():
        deps = {_first_party(name) for _, name in imported_modules(path, False)}
        # a package importing its own submodules (``__init__`` re-exports) is not a circle
        graph[module] = {d for d in deps if d and d != module and not module.startswith(d + '.')}
    circles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, f'import circles: {circles}'


def test_package_import_is_light():
    code = ('import sys, rgbd_seg_ros\n'
            "heavy = [m for m in ('torch', 'rclpy', 'timm') if m in sys.modules]\n"
            'print(heavy)\n'
            'sys.exit(1 if heavy else 0)\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, f'import rgbd_seg_ros pulled in {proc.stdout.strip()}'
