package compress

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Calibration holds what int8 quantization learns from calibration data:
// the second moments of the output layer's input. The output layer
// (post2, (Q, S)) is the one tensor whose int8 rounding costs bits on the
// default model (+0.013 bits/sample of the +0.016 of per-channel int8, all
// other tensors together +0.003), and rounding it against these moments
// (GPTQ) takes most of that back at no cost in size.
type Calibration struct {
	// Post2 is (S, S): the sum over the calibration samples of h h^T,
	// h the post1 ReLU output that post2 multiplies.
	Post2 []float64
	N     int // calibration samples
}

// ErrNoCalibration is Calibrate's error for a model it cannot calibrate:
// one with local conditioning (a vocoder), or more skip than quantization
// channels.
var ErrNoCalibration = errors.New("model not calibratable")

// Calibrate runs m over utts (teacher forcing, every position) and
// collects the Calibration. Calibrate on training data: the rounding fits
// it.
func Calibrate(ctx context.Context, m *wavenet.Model, utts []*corpus.Utterance) (*Calibration, error) {
	if m == nil {
		return nil, errNoModel
	}
	S, Q := m.Config.SkipChannels, m.Config.QuantizationChannels
	if S > Q || m.Config.Local != nil {
		return nil, fmt.Errorf("compress: calibrate: %w (skip channels %d, quantization channels %d, local conditioning %v)", ErrNoCalibration, S, Q, m.Config.Local != nil)
	}
	// A copy whose post2 passes its input through to the first S logits,
	// so that Forward returns post2's inputs.
	d := m.Clone()
	clear(d.Post2.W)
	clear(d.Post2.B)
	for i := range S {
		d.Post2.W[i*S+i] = 1
	}
	c := &Calibration{Post2: make([]float64, S*S)}
	var out []float32
	for _, u := range utts {
		cond, err := u.ConditionIndices(m.Config.Conditions)
		if err != nil {
			return nil, fmt.Errorf("compress: calibrate: %w", err)
		}
		if out, err = d.Forward(ctx, out[:0], u.Codes, cond); err != nil {
			return nil, fmt.Errorf("compress: calibrate: %s: %w", u.Name, err)
		}
		for t := 0; t+Q <= len(out); t += Q {
			h := out[t : t+S]
			for i, hi := range h {
				if hi == 0 { // ReLU output: mostly zeros
					continue
				}
				row := c.Post2[i*S : (i+1)*S]
				for j, hj := range h {
					row[j] += float64(hi) * float64(hj)
				}
			}
			c.N++
		}
	}
	if c.N == 0 {
		return nil, fmt.Errorf("compress: calibrate: no samples in %d utterances", len(utts))
	}
	return c, nil
}

// gptqRows quantizes w (rows, cols) to qint8 symmetric per row, rounding
// column by column and spreading each rounding error over the columns not
// yet rounded so as to minimise the output error under the second moments
// h (cols, cols) (Frantar et al. 2022, "GPTQ", algorithm 1 with one block).
// Each row's scale is max|w|/127, and its largest weight is not moved,
// so that it stays at +-127: the row's scale is then max|q|/127, which
// the int8 generator (kernel.NewQ8) derives again from the dequantized
// weights, and its products see exactly these integers.
func gptqRows(w []float32, rows, cols int, h []float64) (*Int8Tensor, error) {
	n := cols
	// U is the upper Cholesky factor of (H + damp I)^-1, damp 1% of the
	// mean diagonal as in the paper.
	H := append([]float64(nil), h...)
	var damp float64
	for i := range n {
		damp += H[i*n+i]
	}
	damp = 0.01*damp/float64(n) + 1e-12
	for i := range n {
		H[i*n+i] += damp
	}
	hinv, err := invertSPD(H, n)
	if err != nil {
		return nil, err
	}
	L, err := cholesky(hinv, n)
	if err != nil {
		return nil, err
	}
	t := &Int8Tensor{Rows: rows, Cols: cols, DType: QInt8, Scheme: Symmetric, PerChannel: true, Data: make([]int8, rows*cols)}
	row := make([]float64, cols)
	for r := range rows {
		part := w[r*cols : (r+1)*cols]
		top := 0
		for i, v := range part {
			if math.Abs(float64(v)) > math.Abs(float64(part[top])) {
				top = i
			}
		}
		// max|w|/127, as kernel.NewQ8 (not CalcQParams' /127.5, whose
		// largest negative weight becomes -128).
		qp := QParams{Scale: max(float32(math.Abs(float64(part[top])))/127, float32Eps)}
		t.Params = append(t.Params, qp)
		for i, v := range part {
			row[i] = float64(v)
		}
		for j := range n {
			q := max(-127, min(127, qp.Quantize(float32(row[j]), QInt8)))
			t.Data[r*cols+j] = int8(q)
			e := (row[j] - float64(qp.Dequantize(q))) / L[j*n+j]
			for k := j + 1; k < n; k++ {
				if k != top {
					row[k] -= e * L[k*n+j] // U[j][k] = L[k][j]
				}
			}
		}
	}
	return t, nil
}

// invertSPD returns the inverse of the symmetric positive definite a (n, n)
// by Gauss-Jordan elimination.
func invertSPD(a []float64, n int) ([]float64, error) {
	w := 2 * n
	m := make([]float64, n*w)
	for i := range n {
		copy(m[i*w:], a[i*n:(i+1)*n])
		m[i*w+n+i] = 1
	}
	for c := range n {
		p := m[c*w+c]
		if !(p > 0) {
			return nil, fmt.Errorf("compress: calibration moments are not positive definite (pivot %d is %v)", c, p)
		}
		for k := range w {
			m[c*w+k] /= p
		}
		for r := range n {
			if f := m[r*w+c]; r != c && f != 0 {
				for k := range w {
					m[r*w+k] -= f * m[c*w+k]
				}
			}
		}
	}
	inv := make([]float64, n*n)
	for i := range n {
		copy(inv[i*n:], m[i*w+n:(i+1)*w])
	}
	return inv, nil
}

// cholesky returns the lower factor L of a = L L^T (n, n).
func cholesky(a []float64, n int) ([]float64, error) {
	L := make([]float64, n*n)
	for i := range n {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for k := range j {
				s -= L[i*n+k] * L[j*n+k]
			}
			if i == j {
				if !(s > 0) {
					return nil, fmt.Errorf("compress: calibration moments are not positive definite (Cholesky pivot %d is %v)", i, s)
				}
				L[i*n+i] = math.Sqrt(s)
			} else {
				L[i*n+j] = s / L[j*n+j]
			}
		}
	}
	return L, nil
}
