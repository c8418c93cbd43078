#!/usr/bin/env bash
# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
#
# The design switches of PrimKD and CroDiNo-KD (docs/training.md; results:
# bench/log/2026-12-02-design-switch-ablations.md, "Design switches"), each an ablation variant
# of bench.methods on the quick protocol: the baselines, teachers and pretraining of the main run
# in the same --out folder are reused, only the distilled runs are trained again.
#
#   bash bench/ablations.sh [WORLD] [OUT]      # WORLD: nyu_like (default) | depth_favoured
#
# One JSON per variant: bench/results/ablation_<variant>_quick_<WORLD>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
WORLD=${1:-nyu_like}
OUT=${2:-runs/bench_methods}
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1

run() {  # run VARIANT METHODS --set ... : one ablation on seeds 0,1,2
    local variant=$1 methods=$2
    shift 2
    "$PY" -m bench.methods --protocol quick --seeds 0,1,2 --world "$WORLD" --jobs 2 \
        --out "$OUT" --methods "rgb,depth,rgbd,$methods" --variant "$variant" "$@" \
        --json "bench/results/ablation_${variant}_quick_${WORLD}.json"
}

# CMKD temperature T = 1 (the synthetic configs' default since this ablation; the main run of
# bench/log/2026-12-02-quick-protocol-rounds.md predates it and ran T = 2)
run T1 cmkd_rgb,cmkd_depth --set distill.temperature=1.0
# feature terms relative to the teacher map's mean square (beta then means what the papers mean)
run featnorm primkd,cmkd_rgb,cmkd_depth --set distill.feat_normalize=teacher_ms
# CroDiNo-KD MixUp: no gradient into the other encoder, own part weighted at least 0.5
run mixfix crodino --set crodino.mixup_detach_other=true --set crodino.mixup_lambda_min=0.5
# CroDiNo-KD without MixUp at all (the audit: MixUp alone costs the RGB model 2.7 points)
run nomix crodino --set crodino.mixup=false
# CroDiNo-KD auxiliary decoder scored at the feature resolution, orthogonality before the ReLU
run auxortho crodino --set crodino.aux_resolution=feature --set crodino.ortho_preact=true
# CroDiNo-KD without its cross-modal InfoNCE, and without its auxiliary decoder: which part of
# the joint training costs the depth model its cabinets
# (bench/log/2026-12-02-design-switch-ablations.md)
run nocontrast crodino --set crodino.contrast_weight=0.0
run noaux crodino --set crodino.aux_weight=0.0
