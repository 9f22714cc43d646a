#!/bin/sh
# Trains the default vocoder (models/vocoder, described in
# models/vocoder/README.md) from scratch and installs it. About 3.5 hours on
# an idle 2-core machine (four runs). The runs checkpoint every 1000 or 2000 steps: run the
# script again after an interruption (Ctrl-C) and it continues where it
# stopped, with the same schedule and data order.
#
#   sh models/reproduce-vocoder.sh [FSDD_TRAIN_DIR]    (default ../shared/data/fsdd/train)
#
# Run from the repository root. The FSDD validation split (indices 5-9) is
# never trained on. Floating-point summation order depends on the CPU's
# kernels (AVX-512, AVX2 or pure Go), so another machine trains a model of
# the same recipe, not necessarily the same bits.
set -eu
DATA=${1:-../shared/data/fsdd/train}
go build -o bin/wavenet ./cmd/wavenet
mkdir -p runs
# The architecture: two stacks of dilations 1, 2, ..., 128 (16 residual
# blocks, receptive field 511 samples), residual and dilation 32 channels,
# skip 64; 40 slaney log-mel bands (hop 128, n_fft 512) upsampled by
# 4 x 4 x 4 x 2.
cat > runs/vocoder.json <<'JSON'
{"filter_width": 2, "sample_rate": 8000,
 "dilations": [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128],
 "residual_channels": 32, "dilation_channels": 32, "skip_channels": 64,
 "quantization_channels": 256, "use_biases": true}
JSON
# stage RUN STEPS ARGS...: start the run directory RUN with ARGS, or resume it.
stage() {
	run=$1 steps=$2
	shift 2
	if [ -d "runs/$run/checkpoints" ]; then
		bin/wavenet train --data "$DATA" --out "runs/$run" --resume --workers 2 --steps "$steps" ${UNTIL:+--until "$UNTIL"}
	else
		bin/wavenet train --data "$DATA" --out "runs/$run" --workers 2 --trim=false --segment 2000 --batch 4 \
			--steps "$steps" ${UNTIL:+--until "$UNTIL"} --checkpoint-every 1000 --keep 4 --validate-every 2000 --validate-max 60 "$@"
	fi
}
# 1. From scratch: cosine from 1e-3 (warm-up 500) to 1e-4 over 32,000 steps.
UNTIL= stage fsdd-vocoder 32000 --config runs/vocoder.json --local mel --mels 40 --rate 8000 \
	--lr 1e-3 --cosine --warmup 500
# 2. Continued from run 1's last step with a fresh optimizer: cosine from
#    5e-4 (warm-up 200) to 5e-5 over 18,000 steps.
UNTIL= stage fsdd-vocoder-2 18000 --init runs/fsdd-vocoder/checkpoints/step-000032000 \
	--lr 5e-4 --cosine --warmup 200
# 3. The mean of run 2's last three checkpoints (the weights shipped until
#    runs 3 and 4).
c=runs/fsdd-vocoder-2/checkpoints
[ -d runs/fsdd-vocoder-avg ] || bin/wavenet average --out runs/fsdd-vocoder-avg $c/step-000016000 $c/step-000017000 $c/step-000018000
# 4. Continued from that mean, fresh optimizer: cosine from 3e-4 (warm-up
#    200) to 3e-5 over 60,000 steps, another data order (seed 7).
UNTIL= stage fsdd-vocoder-3 60000 --init runs/fsdd-vocoder-avg \
	--lr 3e-4 --cosine --warmup 200 --seed 7 --checkpoint-every 2000 --validate-every 4000 --keep 40
c=runs/fsdd-vocoder-3/checkpoints
[ -d runs/fsdd-vocoder-avg3 ] || bin/wavenet average --out runs/fsdd-vocoder-avg3 $c/step-000056000 $c/step-000058000 $c/step-000060000
# 5. Continued from run 3's mean: cosine from 1.5e-4 to 1.5e-5 over 36,000
#    steps (seed 11).
UNTIL= stage fsdd-vocoder-4 36000 --init runs/fsdd-vocoder-avg3 \
	--lr 1.5e-4 --cosine --warmup 200 --seed 11 --checkpoint-every 2000 --validate-every 4000 --keep 40
# 6. The shipped weights: the mean of run 4's last three checkpoints.
c=runs/fsdd-vocoder-4/checkpoints
bin/wavenet average --out runs/fsdd-vocoder-avg4 $c/step-000032000 $c/step-000034000 $c/step-000036000
cp runs/fsdd-vocoder-avg4/config.json runs/fsdd-vocoder-avg4/model.safetensors models/vocoder/
echo "models/vocoder now holds runs/fsdd-vocoder-avg4"
