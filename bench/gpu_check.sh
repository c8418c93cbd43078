#!/usr/bin/env bash
# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
#
# GPU readiness in one run (<= 8 minutes on one GPU); writes one JSON (default
# bench/results/gpu_check.json) with every step's status, time and figures:
#   1. pytest -m cuda                      (the CUDA tests, incl. ORT CUDA / TensorRT parity)
#   2. HHA on CUDA, 480x640, batch 1 and 8 (per-frame ms, peak memory; bench/hha.py)
#   3. node on CUDA at 30 Hz input, torch fp16 and TensorRT when installed
#                                          (output Hz, latency p50/p95; bench/node.py)
#   4. one AMP training step per method    (bench/train_step.py --device cuda)
#
#   bash bench/gpu_check.sh [--dry-run] [--json PATH]
#
# --dry-run prints the steps and their time limits and exits 0 (no GPU needed). Without a
# GPU the script stops at once with exit status 3 and says so (4: $PYTHON has no torch). A step that fails or runs past
# its limit is recorded as failed and the next step runs; the exit status is 1 then.
set -u -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
OUT="$REPO/bench/results/gpu_check.json"
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --json) shift; OUT="$1" ;;
    -h|--help) sed -n '4,18p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

export HF_HUB_OFFLINE=1 PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export FASTDDS_DEFAULT_PROFILES_FILE="$REPO/config/fastdds/local_shm.xml"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST RMW_IMPLEMENTATION=rmw_fastrtps_cpp
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( 150 + $$ % 50 ))}"
WORK="${TMPDIR:-/tmp}/gpu_check.$$"

# name | time limit (s) | command. Limits add up to 450 s (7.5 min).
STEPS=(
  "cuda_tests|120|$PY -m pytest -q -m cuda -p no:cacheprovider test"
  "hha_cuda|45|$PY bench/hha.py --no-cpu --cuda-batch-sizes 1,8 --repeats 10 --json $WORK/hha_cuda.json"
  "node_cuda|180|$PY bench/node.py --device cuda --precision fp16 --rate 30 --duration 20 --warmup 3 --input-size 480x640 --backend BACKENDS --json $WORK/node_cuda.json"
  "train_step_amp|105|$PY bench/train_step.py --device cuda --amp --steps 3 --warmup 1 --batch-size 8 --size 240x320 --json $WORK/train_step_amp.json"
)

if [ "$DRY" = 1 ]; then
  echo "gpu_check.sh --dry-run: would write $OUT"
  for step in "${STEPS[@]}"; do
    IFS='|' read -r name limit cmd <<< "$step"
    echo "  $name (<= ${limit} s): $cmd"
  done
  exit 0
fi

if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "gpu_check.sh: $PY cannot import torch; set PYTHON=<venv>/bin/python" >&2
  exit 4
fi
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null
then
  echo "gpu_check.sh: no CUDA GPU visible to torch (nvidia-smi: $(command -v nvidia-smi || echo missing)); nothing run" >&2
  exit 3
fi

# TensorRT beside torch fp16 only when it can load (ORT TensorRT provider or torch-tensorrt).
BACKENDS=torch
if "$PY" - <<'PYEOF' 2>/dev/null
import importlib.util, sys
ok = False
try:
    import onnxruntime
    ok = 'TensorrtExecutionProvider' in onnxruntime.get_available_providers()
except ImportError:
    pass
sys.exit(0 if ok or importlib.util.find_spec('torch_tensorrt') else 1)
PYEOF
then BACKENDS=torch,tensorrt; fi

STATUS=0
mkdir -p "$WORK"
: > "$WORK/steps.tsv"
for step in "${STEPS[@]}"; do
  IFS='|' read -r name limit cmd <<< "$step"
  cmd="${cmd//BACKENDS/$BACKENDS}"
  echo "== $name (<= ${limit} s): $cmd"
  start=$(date +%s%N)
  (cd "$REPO" && timeout --signal=INT --kill-after=15 "$limit" $cmd) > "$WORK/$name.log" 2>&1
  rc=$?
  msecs=$(( ($(date +%s%N) - start) / 1000000 ))
  tail -n 25 "$WORK/$name.log"
  [ "$rc" = 0 ] || STATUS=1
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$msecs" "$cmd" >> "$WORK/steps.tsv"
done

"$PY" - "$WORK" "$OUT" "$BACKENDS" <<'PYEOF'
import json, pathlib, platform, sys
work, out, backends = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
import torch
steps = {}
for line in (work / 'steps.tsv').read_text().splitlines():
    name, rc, secs, cmd = line.split('\t')
    entry = {'rc': int(rc), 'ok': rc == '0', 'seconds': int(secs) / 1000.0, 'command': cmd,
             'log_tail': (work / f'{name}.log').read_text(errors='replace')[-4000:]}
    result = work / f'{name}.json'
    if result.is_file():
        entry['result'] = json.loads(result.read_text())
    steps[name] = entry
report = {'benchmark': 'gpu_check', 'device': torch.cuda.get_device_name(),
          'torch': torch.__version__, 'cuda': torch.version.cuda, 'node_backends': backends,
          'platform': platform.platform(), 'steps': steps,
          'all_ok': all(s['ok'] for s in steps.values())}
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(report, indent=2))
print(f'wrote {out}: ' + ', '.join(f"{k} {'ok' if v['ok'] else 'FAILED'} ({v['seconds']:.0f} s)"
                                   for k, v in steps.items()))
PYEOF
exit $STATUS
