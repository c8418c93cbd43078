#!/usr/bin/env bash
# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
#
# Why PrimKD loses to the fusion baseline on the synthetic world
# (bench/log/2026-12-04-full-protocol-nyu_like.md, "Why PrimKD loses"): which of its two terms
# costs the fusion student, and whether the cost follows the teacher's strength. Each line is an
# ablation variant of bench.methods that reuses the baselines, teachers and pretraining of the
# main run in the same folder, so run the main benchmark first with the same PROTOCOL, WORLD,
# OUT and extra flags:
#
#   bash bench/primkd_why.sh [WORLD] [OUT] [bench.methods flags, e.g. --pretrain-iters 4000]
#   PROTOCOL=quick JOBS=1 bash bench/primkd_why.sh nyu_like runs/bench_methods
#
# WEAK_TEACHER (default: the seed-0 RGB baseline of that run, trained for a third of the
# teacher's steps) is the weaker RGB teacher; one JSON per variant:
# bench/results/primkd_<variant>_<PROTOCOL>_<WORLD>.json.
source "$(dirname "$0")/experiment_env.sh" "$@"

suffix=""
args=("${EXTRA[@]}")
for ((i = 0; i < ${#args[@]}; i++)); do  # the run folder's suffix, as bench.methods names it
    case ${args[i]} in
        --pretrain-iters) suffix+="_pre${args[i + 1]}" ;;
        --teacher-factor) suffix+="_tf${args[i + 1]}" ;;
    esac
done
WEAK_TEACHER=${WEAK_TEACHER:-$OUT/${PROTOCOL}_${WORLD}${suffix}/seed0/rgb/model.safetensors}
if [ ! -f "$WEAK_TEACHER" ]; then
    echo "no weaker teacher at $WEAK_TEACHER: run the main benchmark first (or set WEAK_TEACHER)" >&2
    exit 2
fi

run() {  # run VARIANT --set ... : PrimKD again on seeds 0,1,2 with one change
    local variant=$1
    shift
    "$PY" -m bench.methods --protocol "$PROTOCOL" --seeds 0,1,2 --world "$WORLD" --jobs "$JOBS" \
        --out "$OUT" --methods rgbd,primkd --variant "$variant" "${args[@]}" "$@" \
        --json "bench/results/primkd_${variant}_${PROTOCOL}_${WORLD}.json"
}

# the KL to the RGB teacher's output off: the feature term alone
run nokl --set distill.logit_weight=0.0
# the stage-feature term off: the KL alone
run nofeat --set distill.feat_weight=0.0
# a weaker RGB teacher (the 500-step RGB baseline instead of the 1500-step teacher)
run weakT --set "distill.teacher=$WEAK_TEACHER"
