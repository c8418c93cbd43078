# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Declares a node's configuration dataclass (``core/node_config.py``) as ROS parameters.

Each field's ``metadata`` (description, range, choices, read-only) becomes a
``ParameterDescriptor``; everything is declared once at start-up and the validated dataclass is
returned. Callbacks never call ``get_parameter``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException

from rgbd_seg_ros.core.node_config import check_parameter_names

P = TypeVar('P')


def parameter_overrides(node: Any) -> tuple[str, ...]:
    """
    Names given to ``node`` at start-up (``-p``, ``--params-file``: its section and ``/**``).

    rclpy keeps them in ``Node._parameter_overrides`` (Humble to Kilted) and offers no public
    accessor; a node without it yields no names.
    """
    return tuple(getattr(node, '_parameter_overrides', None) or ())


def declare_params(node: Any, cls: type[P]) -> P:
    """
    Refuse unknown start-up parameters, declare every field of ``cls`` on ``node`` with its
    descriptor and return the dataclass.

    :raises ValueError: an unknown name (``core.node_config.check_parameter_names``: the
        closest known one is named), a value out of range, a wrong type or an invalid choice
        (the message names the parameter).
    """
    check_parameter_names(parameter_overrides(node), cls, node.get_name())
    values = {}
    for f in fields(cls):
        meta = f.metadata
        description = meta['description']
        if meta['choices']:
            description += f' (one of: {", ".join(meta["choices"])})'
        descriptor = ParameterDescriptor(description=description, read_only=meta['read_only'])
        if meta['range'] is not None:
            lo, hi = meta['range']
            if isinstance(f.default, float):
                descriptor.floating_point_range = [
                    FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
            else:
                descriptor.integer_range = [
                    IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
        try:
            values[f.name] = node.declare_parameter(f.name, f.default, descriptor).value
        except ParameterException as exc:
            raise ValueError(f'parameter {f.name}: {exc} (floats need a decimal point, '
                             f'e.g. 1.0)') from exc
    return cls(**values)
