#!/usr/bin/env bash
# Table 1 MNIST (issue 15) on a lent GPU: the seed runs and the Gaussian-noise run side by side,
# each an ordinary `python -m replication train parzen_mnist --profile paper` run that stops
# cleanly after its time budget and resumes from its checkpoint on any machine.
#
# Usage (on the GPU machine, from the project root, MNIST in $MNIST_DIR):
#   BUDGET_MIN=6.5 OUT=/some/folder scripts/device_table1_seeds.sh
# Each run's checkpoint folder is then tarred and cut into 15 MiB pieces under $STASH, seed 0's
# first (the device tool brings back at most 64 MiB a call); `cat NAME.tar.part-* | tar x`
# puts a run back under results/parzen_mnist/_checkpoints/.
set -u
BUDGET_MIN=${BUDGET_MIN:-6.5}
STASH=${STASH:-/tmp/stash}
DEVICE=${DEVICE:-cuda}
RESULTS=${RESULTS:-results}
OUT=${OUT:?set OUT}
export PYTHONPATH=. PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p "$STASH"
{ date -u; nvidia-smi -L; python3 -c 'import torch; print("torch", torch.__version__)'; } \
  >"$OUT/log.txt" 2>&1

# name seed noise epochs: seed 0 aims at the 2,000-epoch length run, the others at 1,000
RUNS="paper-seed0:0:uniform:2000 paper-seed1:1:uniform:1000 paper-seed2:2:uniform:1000
paper-gaussian-seed0:0:gaussian:1000"
for spec in $RUNS; do
  IFS=: read -r name seed noise epochs <<<"$spec"
  python3 -m replication train parzen_mnist --profile paper --run-name "$name" \
    -p seed "$seed" -p noise "$noise" -p epochs "$epochs" -p device "$DEVICE" \
    --results-dir "$RESULTS" --time-budget-minutes "$BUDGET_MIN" >"$STASH/$name.log" 2>&1 &
done
wait
for spec in $RUNS; do
  name=${spec%%:*}
  { echo "== $name"; tr '\r' '\n' <"$STASH/$name.log" | grep -v '^ *$' | tail -5; } >>"$OUT/log.txt"
  tar -C "$RESULTS/parzen_mnist/_checkpoints" -cf - "$name" | split -b 15M - "$STASH/$name.tar.part-"
done
RESULTS=$RESULTS python3 - >>"$OUT/log.txt" <<'EOF'
import glob, os, torch
for p in sorted(glob.glob(os.environ["RESULTS"] + "/parzen_mnist/_checkpoints/*/last.pt")):
    s = torch.load(p, map_location="cpu", weights_only=False)
    h = s["history"]
    t = sorted(r["epoch_time_s"] for r in h)
    print(p, "epoch", s["epoch"], "best", s.get("best"), "median epoch s", t[len(t) // 2])
EOF
ls -l "$STASH" >>"$OUT/log.txt"
