package train

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/internal/kernel"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet"
)

// peakRSSMB reads the process's peak resident set (VmHWM) from
// /proc/self/status, in MB; 0 where that file does not exist.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the user plus system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkStep is the speed measurement: the `small` preset, one
// optimizer step (forward, backward, gradient average, Adam) on segments
// of 2047 + 4000 codes with the loss on the last 4000 (the receptive field
// is 2048): 1 worker with batch 1; 2 workers with batch 1 split along time
// (each worker predicts 2000 samples with its own 2047 of context); and 2
// workers with batch 2 (one sequence each); and 1 worker with batch 1 of a
// mel vocoder (80 mels, hop 256 in scales 4,4,4,4, width 2: the default
// at 16 kHz), which adds the upsampling network and the local
// projections. samples/s counts predicted
// samples (4000 per sequence); samples/cpu-s divides by the process's CPU
// time instead, which other load on the machine does not change.
func BenchmarkStep(b *testing.B) {
	for _, tc := range []struct {
		name           string
		workers, batch int
		local          bool
	}{{"w1_b1", 1, 1, false}, {"w2_b1_split", 2, 1, false}, {"w2_b2", 2, 2, false}, {"w1_b1_mel", 1, 1, true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, err := wavenet.Preset("small")
			if err != nil {
				b.Fatal(err)
			}
			if tc.local {
				lc, err := LocalSpec{}.Config(cfg.SampleRate)
				if err != nil {
					b.Fatal(err)
				}
				cfg.Local = &lc
			}
			m, err := wavenet.New(cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			const lossRows = 4000
			length := cfg.ReceptiveField() - 1 + lossRows
			p, err := NewParallel(m, tc.workers, tc.batch, length, lossRows)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			rng := rand.New(rand.NewPCG(2, 2))
			segs, _ := randSegs(rng, m, tc.batch, length+1)
			var mels [][]float32
			var offs []int
			if lc := cfg.Local; lc != nil {
				for range segs {
					utt := make([]float32, (length/lc.Hop+8)*lc.Channels)
					for i := range utt {
						utt[i] = float32(rng.NormFloat64())
					}
					w, off := LocalWindow(nil, utt, *lc, lc.Hop+1, LocalFrames(*lc, length))
					mels, offs = append(mels, w), append(offs, off)
				}
			}
			step := func() error {
				_, err := p.StepLocal(context.Background(), segs, nil, mels, offs)
				return err
			}
			opt := nn.NewAdam(0.9, 0.999, 1e-8, 0)
			// One step outside the timing: the Ops allocate their buffers
			// on the first run.
			if err := step(); err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuSeconds()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := step(); err != nil {
					b.Fatal(err)
				}
				if err := opt.Step(p.Params, 1e-4); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tc.batch*lossRows*b.N)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(peakRSSMB(), "peak-MB")
			// Predicted samples per second of process CPU time: what the
			// step costs, independent of other load on the machine.
			b.ReportMetric(float64(tc.batch*lossRows*b.N)/(cpuSeconds()-cpu0), "samples/cpu-s")
		})
	}
}

// BenchmarkGemmShapes runs the GEMMs of one `small` training step (segment
// 2047 + 4000, loss on 4000) one shape at a time, to show the kernel where
// the time goes. share is the shape's part of the step's multiply-adds
// (forward: NT, backward input: NN, backward weight: TN).
func BenchmarkGemmShapes(b *testing.B) {
	const T, N = 6047, 4000
	for _, s := range []struct {
		name    string
		ta, tb  bool
		m, n, k int
		calls   int // per step
	}{
		{"gate_fwd_NT", false, true, T, 64, 32, 40},
		{"gate_dx_NN", false, false, T, 32, 64, 40},
		{"gate_dw_TN", true, false, 64, 32, T, 40},
		{"skip_fwd_NT", false, true, N, 128, 32, 20},
		{"skip_dz_NN", false, false, N, 32, 128, 20},
		{"skip_dw_TN", true, false, 128, 32, N, 20},
		{"res_fwd_NT", false, true, T, 32, 32, 19},
		{"res_dz_NN", false, false, T, 32, 32, 19},
		{"res_dw_TN", true, false, 32, 32, T, 19},
		{"post2_fwd_NT", false, true, N, 256, 128, 1},
		{"post2_dx_NN", false, false, N, 128, 256, 1},
		{"post2_dw_TN", true, false, 256, 128, N, 1},
	} {
		b.Run(s.name, func(b *testing.B) {
			ar, ac := s.m, s.k
			if s.ta {
				ar, ac = s.k, s.m
			}
			br, bc := s.k, s.n
			if s.tb {
				br, bc = s.n, s.k
			}
			a, bb, c := make([]float32, ar*ac), make([]float32, br*bc), make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%7) / 7
			}
			for i := range bb {
				bb[i] = float32(i%5) / 5
			}
			cpu0 := cpuSeconds()
			b.ReportAllocs()
			for b.Loop() {
				kernel.Gemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, ac, bb, bc, 1, c, s.n)
			}
			flop := 2 * float64(s.m*s.n*s.k) * float64(b.N)
			b.ReportMetric(flop/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
			b.ReportMetric(float64(s.calls)*2*float64(s.m*s.n*s.k)/1e6, "MFLOP/step")
		})
	}
}
