#!/usr/bin/env bash
# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
#
# Why CroDiNo-KD's RGB model loses to the RGB baseline on the full protocol
# (bench/log/2026-12-05-full-protocol-depth_favoured.md, "Why CroDiNo-KD loses"): which part of
# the joint training costs it. Each line is an ablation variant of bench.methods that reuses the
# baselines and pretraining of the main run in the same folder, so run the main benchmark first
# with the same PROTOCOL, WORLD, OUT and flags:
#
#   bash bench/crodino_why.sh [WORLD] [OUT] [bench.methods flags, e.g. --pretrain-iters 4000]
#   JOBS=1 bash bench/crodino_why.sh nyu_like runs/bench_methods --pretrain-iters 4000
#
# One JSON per variant: bench/results/crodino_<variant>_<PROTOCOL>_<WORLD>.json.
source "$(dirname "$0")/experiment_env.sh" "$@"
args=("${EXTRA[@]}")

run() {  # run VARIANT --set ... : CroDiNo-KD again on seeds 0,1,2 with one change
    local variant=$1
    shift
    "$PY" -m bench.methods --protocol "$PROTOCOL" --seeds 0,1,2 --world "$WORLD" --jobs "$JOBS" \
        --out "$OUT" --methods rgb,depth,crodino --variant "$variant" "${args[@]}" "$@" \
        --json "bench/results/crodino_${variant}_${PROTOCOL}_${WORLD}.json"
}

# the control: every CroDiNo-KD term off (no MixUp, InfoNCE, orthogonality or auxiliary
# decoder), so what is left is two plain models under one optimiser, one gradient clip and the
# decoupled data pipeline; it should tie with the baselines, and if it loses, the loss is the
# joint set-up's and not any term's
run plain --set crodino.mixup=false --set crodino.contrast_weight=0.0 \
    --set crodino.ortho_weight=0.0 --set crodino.aux_weight=0.0
# MixUp off: the RGB decoder no longer trains on depth's invariant half
run nomix --set crodino.mixup=false
# the cross-modal InfoNCE off, and at a tenth of its weight
run nocontrast --set crodino.contrast_weight=0.0
run contrast01 --set crodino.contrast_weight=0.1
