package cache

import (
	"github.com/wavenet-go/wavenet/internal/kernel"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Int8Generator is a Generator whose weight products run in 8 bits: every
// matrix of the step (the dilated convolutions, residual, skip and output
// layers) is quantized to int8 once, symmetric per output channel
// (kernel.NewQ8), and each product's input vector is quantized per step to
// uint8 with its own scale (max|x|/127, zero point 128). The products are
// exact integer dot products (AVX-512 VNNI VPDPBUSD where present, plain
// Go otherwise), rescaled to float32; everything else (the input
// embedding, gates, ReLU, sampling, the queues) stays float32.
//
// Why quantized activations rather than int8 weights dequantized on the
// fly: VPDPBUSD does 64 multiply-adds per instruction against 16 for a
// float32 FMA, and the weights take a quarter of the bytes, so a step
// reads 4 times less memory; dequantizing weights to float32 inside the
// product would keep the float32 FMA rate and add a conversion per weight.
// Quantizing a vector of n activations costs 2n/16 vector operations,
// small next to the n*rows/64 of the product.
//
// Join, Leave, Feed, Prime, PushLocal, Logits and the rest are the
// Generator's. The local-conditioning upsampling and projection stay
// float32 (the projection is one packed float32 product per step).
// Prime fills the queues with the float32 pass over the dequantized int8
// weights, so primed and stepped queues agree up to activation rounding.
type Int8Generator struct {
	*Generator
	gateQ, resQ           []*kernel.Q8
	skipQ, post1Q, post2Q *kernel.Q8
	xq                    []uint8   // (maxStreams, ldq): quantized inputs of one product
	xs                    []float32 // (maxStreams): their scales
	ldq                   int
}

// NewInt8 returns an int8 generator for m with maxStreams slots. It panics
// as New does. The generator keeps its own copy of m with the weights
// replaced by their dequantized int8 values (Model returns it).
func NewInt8(m *wavenet.Model, maxStreams int) *Int8Generator {
	if err := m.CheckShapes(); err != nil {
		panic("cache: NewInt8: " + err.Error())
	}
	cfg := m.Config
	K, Q, R, D, S, L := cfg.FilterWidth, cfg.QuantizationChannels, cfg.ResidualChannels,
		cfg.DilationChannels, cfg.SkipChannels, len(cfg.Dilations)
	dq := m.Clone()
	ig := &Int8Generator{}
	for l := range dq.Layers {
		ly := &dq.Layers[l]
		ig.gateQ = append(ig.gateQ, quantizeInPlace(ly.Gate.W, 2*D, K*R))
		ig.resQ = append(ig.resQ, quantizeInPlace(ly.Res.W, R, D))
	}
	ig.post1Q = quantizeInPlace(dq.Post1.W, S, S)
	ig.post2Q = quantizeInPlace(dq.Post2.W, Q, S)
	ig.Generator = New(dq, maxStreams)
	// The skip matrix (S, L*D), all layers side by side, has one scale
	// per row over all layers; the model copy gets its dequantized values.
	ig.skipQ = quantizeInPlace(ig.skipW, S, L*D)
	for l := range dq.Layers {
		for s := 0; s < S; s++ {
			copy(dq.Layers[l].Skip.W[s*D:(s+1)*D], ig.skipW[s*L*D+l*D:])
		}
	}
	ig.ldq = kernel.Q8Stride(max(K*R, D, L*D, S))
	ig.xq = make([]uint8, maxStreams*ig.ldq)
	ig.xs = make([]float32, maxStreams)
	return ig
}

// quantizeInPlace quantizes w (rows, cols) per row and overwrites it with
// the dequantized values.
func quantizeInPlace(w []float32, rows, cols int) *kernel.Q8 {
	q := kernel.NewQ8(w, rows, cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			v, s := q.At(r, c)
			w[r*cols+c] = float32(v) * s
		}
	}
	return q
}

// WeightBytes is the memory of the int8 weights of the step (packed, with
// their scales).
func (g *Int8Generator) WeightBytes() int {
	n := g.skipQ.Bytes() + g.post1Q.Bytes() + g.post2Q.Bytes()
	for l := range g.gateQ {
		n += g.gateQ[l].Bytes() + g.resQ[l].Bytes()
	}
	return n
}

// Step is Generator.Step with the int8 products. It does not allocate.
func (g *Int8Generator) Step(dst []int32) []int32 {
	if len(dst) < len(g.streams) {
		dst = append(dst, make([]int32, len(g.streams)-len(dst))...)
	}
	for i := range g.row {
		g.row[i] = -1
	}
	B := len(g.act)
	if B == 0 {
		return dst
	}
	g.forwardStep8(B)
	g.step++
	g.draw(dst)
	return dst
}

// mul8 computes y (B, w.Rows) += x (B, w.Cols) W^T in 8 bits: the rows of
// x (stride ldx) are quantized first.
func (g *Int8Generator) mul8(B int, w *kernel.Q8, x []float32, ldx int, y []float32, ldy int) {
	for b := 0; b < B; b++ {
		g.xs[b] = kernel.QuantizeU8(g.xq[b*g.ldq:], x[b*ldx:b*ldx+w.Cols])
	}
	kernel.Q8MatMulAddBatch(y, ldy, w, g.xq, g.ldq, g.xs, B)
}

// forwardStep8 is the Generator's forwardStep with mul8 for the products.
func (g *Int8Generator) forwardStep8(B int) {
	K, Q, R, D, S, L := g.k, g.q, g.r, g.d, g.s, g.nl
	KR, LD := K*R, L*D
	g.localStep()
	g.inputStep()
	MS := len(g.streams)
	for l := range g.m.Layers {
		g.gatherTaps(l, B)
		copy(g.pre[:B*2*D], g.bias[l*MS*2*D:l*MS*2*D+B*2*D])
		g.addStepLocal(l, B)
		g.mul8(B, g.gateQ[l], g.x, KR, g.pre, 2*D)
		for b := 0; b < B; b++ {
			kernel.GateTanhSigmoid(g.z[b*LD+l*D:b*LD+l*D+D], g.pre[b*2*D:(b+1)*2*D])
		}
		if l < L-1 {
			g.mul8(B, g.resQ[l], g.z[l*D:], LD, g.xr, R)
		}
	}
	for b := 0; b < B; b++ {
		copy(g.skip[b*S:(b+1)*S], g.skipB)
		copy(g.h[b*S:(b+1)*S], g.post1B)
		copy(g.logits[b*Q:(b+1)*Q], g.post2B)
	}
	g.mul8(B, g.skipQ, g.z, LD, g.skip, S)
	kernel.ReLU(g.skip[:B*S], g.skip[:B*S])
	g.mul8(B, g.post1Q, g.skip, S, g.h, S)
	kernel.ReLU(g.h[:B*S], g.h[:B*S])
	g.mul8(B, g.post2Q, g.h, S, g.logits, Q)
}

// inputStep is the initial causal convolution of forwardStep: the sum of
// K columns of Input.W for each active stream, into g.xr; it advances the
// streams' histories.
func (g *Int8Generator) inputStep() {
	K, Q, R := g.k, g.q, g.r
	for b, slot := range g.act {
		st := &g.streams[slot]
		xr := g.xr[b*R : (b+1)*R]
		copy(xr, g.inB)
		for k := 0; k < K; k++ {
			c := st.pending
			if k < K-1 {
				c = st.hist[k]
			}
			if c < 0 {
				continue
			}
			kernel.Add(xr, xr, g.inT[(k*Q+int(c))*R:][:R])
		}
		copy(st.hist, st.hist[1:])
		if K > 1 {
			st.hist[K-2] = st.pending
		}
		st.t++
	}
}

// gatherTaps fills g.x (B, K*R) with layer l's K taps of every active
// stream and pushes this step's inputs into the layer's queue.
func (g *Int8Generator) gatherTaps(l, B int) {
	K, R := g.k, g.r
	KR, MS := K*R, len(g.streams)
	d := g.m.Layers[l].Dilation
	lq := (K - 1) * d
	ring := g.ring[l]
	pos := g.step % lq
	for k := 0; k < K-1; k++ {
		i := pos - (K-1-k)*d
		if i < 0 {
			i += lq
		}
		blk := ring[i*MS*R:]
		for b := 0; b < B; b++ {
			copy(g.x[b*KR+k*R:b*KR+(k+1)*R], blk[b*R:(b+1)*R])
		}
	}
	for b := 0; b < B; b++ {
		copy(g.x[b*KR+(K-1)*R:(b+1)*KR], g.xr[b*R:(b+1)*R])
	}
	copy(ring[pos*MS*R:pos*MS*R+B*R], g.xr[:B*R])
}
