# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
#
# Sourced by the experiment scripts (primkd_why.sh, crodino_why.sh) with their arguments
# [WORLD] [OUT] [bench.methods flags...]: sets WORLD, OUT, EXTRA (the flags), PROTOCOL
# (env, default full), JOBS (env, default 2) and PY, and moves to the repository root.
# shellcheck shell=bash
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORLD=${1:-nyu_like}
OUT=${2:-runs/bench_methods}
EXTRA=("${@:3}")
PROTOCOL=${PROTOCOL:-full}
JOBS=${JOBS:-2}
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1
