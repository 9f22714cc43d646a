#!/bin/sh
# Trains the default vocoder (models/vocoder, described in
# models/vocoder/README.md) from scratch and installs it. About 1 hour on
# an idle 2-core machine. The run checkpoints every 1000 steps: run the
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
STEPS=32000
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
if [ -d runs/fsdd-vocoder/checkpoints ]; then
	bin/wavenet train --data "$DATA" --out runs/fsdd-vocoder --resume --workers 2 --steps $STEPS
else
	bin/wavenet train --data "$DATA" --out runs/fsdd-vocoder --config runs/vocoder.json \
		--local mel --mels 40 --rate 8000 --trim=false --segment 2000 --batch 4 --workers 2 \
		--steps $STEPS --lr 1e-3 --cosine --warmup 500 --checkpoint-every 1000 --keep 4 \
		--validate-every 2000 --validate-max 60
fi
c=runs/fsdd-vocoder/checkpoints/step-0000$STEPS
cp "$c/config.json" "$c/model.safetensors" models/vocoder/
echo "models/vocoder now holds $c"
