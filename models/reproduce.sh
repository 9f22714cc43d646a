#!/bin/sh
# Trains the default model in the four stages described in models/README.md,
# adds the null rows its candidates are scored against (step 5, no training)
# and installs the result in models/default. About 2 hours on an idle
# 2-core machine (3 from scratch). Every stage checkpoints as it goes: run
# the script again after an interruption (Ctrl-C) and it continues where it
# stopped.
#
#   sh models/reproduce.sh [FSDD_TRAIN_DIR]    (default ../shared/data/fsdd/train)
#   FROM_SCRATCH=1 sh models/reproduce.sh      (stage 1 too, instead of models/resume)
#
# Run from the repository root. The FSDD validation split (indices 5-9) is
# never trained on. Floating-point summation order depends on the CPU's
# kernels (AVX-512, AVX2 or pure Go), so another machine trains a model of
# the same recipe, not necessarily the same bits.
set -eu
DATA=${1:-../shared/data/fsdd/train}
go build -o bin/wavenet ./cmd/wavenet

# stage RUN ARGS...: start the run directory RUN with ARGS, or resume it.
stage() {
	run=$1
	shift
	if [ -d "runs/$run/checkpoints" ]; then
		# Resume takes the configuration, schedule and data order from the
		# checkpoint; only the stopping point is given again.
		until=$(printf '%s\n' "$@" | sed -n '/^--until$/{n;p;}')
		steps=$(printf '%s\n' "$@" | sed -n '/^--steps$/{n;p;}')
		bin/wavenet train --data "$DATA" --out "runs/$run" --resume --workers 2 --steps "$steps" ${until:+--until "$until"}
	else
		bin/wavenet train --data "$DATA" --out "runs/$run" --workers 2 --batch 2 "$@"
	fi
}

# Stage 1 ends at the checkpoint committed in models/resume: start from it
# unless FROM_SCRATCH=1 is set (about 45 minutes more).
if [ ! -d runs/fsdd-small ] && [ -z "${FROM_SCRATCH:-}" ]; then
	mkdir -p runs/fsdd-small/checkpoints
	cp -r models/resume/step-000040000 runs/fsdd-small/checkpoints/
fi
# 1. The small preset (receptive field 2048 samples) from scratch: 2000-sample
#    windows, constant learning rate.
stage fsdd-small --preset small --cond speaker,digit --segment 2000 --lr 1e-3 \
	--steps 40000 --checkpoint-every 1000
# 2. Fine-tuning on 4000-sample windows, which mostly hold a whole word and
#    the silence after it; stopped part way along its cosine schedule.
stage fsdd-ft --init runs/fsdd-small/checkpoints/step-000040000 --segment 4000 \
	--lr 5e-4 --cosine --warmup 200 --steps 24000 --until 9213 --checkpoint-every 1000
# 3. Two more residual blocks (dilations 1024 and 2048; receptive field 5120
#    samples, 0.64 s) that see a whole word, trained on with the rest;
#    stopped at step 10000 and its last three checkpoints averaged.
stage fsdd-grow --init runs/fsdd-ft/checkpoints/step-000009213 --grow 1024,2048 --segment 4000 \
	--lr 5e-4 --cosine --warmup 200 --steps 24000 --until 10000 --checkpoint-every 1000
g=runs/fsdd-grow/checkpoints
[ -d runs/avg-grow-8-10 ] || bin/wavenet average --out runs/avg-grow-8-10 $g/step-000008000 $g/step-000009000 $g/step-000010000
# 4. A third stack of ten blocks (dilations 1 to 512; 32 blocks, receptive
#    field 6143 samples). Its cosine schedule spans 17000 steps; the shipped
#    model averages steps 11000-13000 (the run went on to 17000, and the
#    averages of its later checkpoints recognised no more digits).
stage fsdd-deep --init runs/avg-grow-8-10 --grow 1,2,4,8,16,32,64,128,256,512 --segment 4000 \
	--lr 5e-4 --cosine --warmup 200 --steps 17000 --until 13000 --checkpoint-every 1000
# 5. No training: the average gets null rows, each the mean of its
#    condition's value rows (--null), which say, samples and the service
#    score their 5 candidate attempts per digit against (the candidate with
#    the highest log p(audio | digit) - log p(audio | null digit) is kept).
d=runs/fsdd-deep/checkpoints
bin/wavenet average --null --out runs/default $d/step-000011000 $d/step-000012000 $d/step-000013000
bin/wavenet say --calibrate --model runs/default --data "$DATA" --candidates 5 --guidance 0
cp runs/default/config.json runs/default/model.safetensors runs/default/speech.json models/default/
echo "models/default now holds runs/default"
