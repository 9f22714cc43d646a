package wavenet

import "github.com/wavenet-go/wavenet/internal/kernel"

// A repeat-conv2d layer (see LocalConfig) is computed with its kernel
// folded over the repeats: output row j*s+r sees the repeated rows
// j*s+r-k, k < Width*s, which are copies of the input rows j-m for
// m = ceil((k-r)/s) = 0..Taps()-1, so
//
//	out[j*s + r, c] = Σ_{m<Taps} Σ_{f<FreqWidth} fold[r, m, f] · in[j-m, c+f-FreqWidth/2]
//	fold[r, m, f]   = Σ_{k<Width*s, ceil((k-r)/s) = m} w[k, f]
//
// which costs Taps*FreqWidth (not Width*s*FreqWidth) products per output.

// Taps is the number of input rows an output row of a repeat-conv2d layer
// sees: its own and LocalConfig.Lookback before it.
func (l UpLayer) Taps() int {
	s := l.Scale
	return (l.Width*s-1+s-1)/s + 1
}

// Fold returns in dst (reallocated if too small) the folded kernel of a
// repeat-conv2d layer, (Scale, Taps, FreqWidth): see the formula above.
func (l UpLayer) Fold(dst []float32) []float32 {
	s, M, fw := l.Scale, l.Taps(), l.FreqWidth
	dst = grow(dst, s*M*fw)
	clear(dst)
	for r := 0; r < s; r++ {
		for k := 0; k < l.Width*s; k++ {
			m := (k - r + s - 1) / s // ceil((k-r)/s), k-r > -s
			kernel.Axpy(dst[(r*M+m)*fw:(r*M+m+1)*fw], 1, l.W[k*fw:(k+1)*fw])
		}
	}
	return dst
}

// Unfold adds to dw (Width*Scale, FreqWidth) the gradient of a repeat-conv2d
// kernel given dfold, the gradient of its Fold (Scale, Taps, FreqWidth):
// the adjoint of Fold.
func (l UpLayer) Unfold(dw, dfold []float32) {
	s, M, fw := l.Scale, l.Taps(), l.FreqWidth
	for r := 0; r < s; r++ {
		for k := 0; k < l.Width*s; k++ {
			m := (k - r + s - 1) / s
			kernel.Axpy(dw[k*fw:(k+1)*fw], 1, dfold[(r*M+m)*fw:(r*M+m+1)*fw])
		}
	}
}

// PadRows writes into dst (reallocated if too small) the rows of x (C
// each) with FreqWidth/2 zeros either side of each, the layout
// RepeatConvRows reads, after lead zero rows (no frames before the first).
func (l UpLayer) PadRows(dst, x []float32, C, lead int) []float32 {
	h, P := l.FreqWidth/2, C+l.FreqWidth-1
	n := len(x) / C
	dst = grow(dst, (lead+n)*P)
	clear(dst[:lead*P])
	for j := 0; j < n; j++ {
		row := dst[(lead+j)*P : (lead+j+1)*P]
		clear(row[:h])
		copy(row[h:], x[j*C:(j+1)*C])
		clear(row[h+C:])
	}
	return dst
}

// RepeatConvRows sets out (n*Scale rows of C) to the repeat-conv2d layer's
// output for n input rows: in holds Taps()-1+n padded rows (as PadRows
// writes them: C channels with FreqWidth/2 zeros either side), the
// Taps()-1 rows before the first then the n rows, and fold is Fold's.
// Every output is the same chain of kernel.Axpy calls wherever its rows
// sit in in, so chunked and whole computations agree bit for bit.
func (l UpLayer) RepeatConvRows(out, in, fold []float32, C int) {
	s, M, fw := l.Scale, l.Taps(), l.FreqWidth
	P := C + fw - 1
	n := len(in)/P - (M - 1)
	for j := 0; j < n; j++ {
		for r := 0; r < s; r++ {
			o := out[(j*s+r)*C : (j*s+r+1)*C]
			clear(o)
			for m := 0; m < M; m++ {
				x := in[(j+M-1-m)*P : (j+M-m)*P]
				w := fold[(r*M+m)*fw : (r*M+m+1)*fw]
				for f, v := range w {
					kernel.Axpy(o, v, x[f:f+C])
				}
			}
		}
	}
}
