package kernel

import "fmt"

// Impl returns the name of the implementation in use: "avx512"
// (AVX-512 F+BW+VL+DQ), "avx2" (AVX2+FMA) or "go" (the pure-Go fallback,
// always used under the purego build tag and on other architectures).
func Impl() string { return cur.name }

// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, as
// BLAS sgemm: op(A) is (m, k), op(B) is (k, n), C is (m, n). transA means A
// is stored as (k, m), transB means B is stored as (n, k). lda, ldb and ldc
// are the row strides of A, B and C as stored. With beta == 0, C is not
// read (it may hold NaN).
//
// It panics when a slice is too short for the shapes given.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	cur.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// MatVecAdd computes y += W x, W (rows, cols) row-major, len(x) >= cols,
// len(y) >= rows.
func MatVecAdd(y, w, x []float32, rows, cols int) {
	if rows < 0 || cols < 0 || len(w) < rows*cols || len(x) < cols || len(y) < rows {
		panic("kernel: MatVecAdd: slice too short for shape")
	}
	cur.matVec(y, w, x, rows, cols, 1, 0, 0)
}

// MatMulAddBatch computes Y += X W^T for nb streams stepped together:
// W is (rows, cols) row-major, X is (nb, cols) with row stride ldx, Y is
// (nb, rows) with row stride ldy; that is, for every stream s,
// y[s*ldy:][:rows] += W x[s*ldx:][:cols]. The weights are read once for
// all streams (blocks of W rows stay in L1 while every stream uses them),
// which is what makes stepping many streams together pay.
func MatMulAddBatch(y []float32, ldy int, w []float32, x []float32, ldx int, nb, rows, cols int) {
	if nb < 0 || rows < 0 || cols < 0 || len(w) < rows*cols || ldx < cols || ldy < rows ||
		(nb > 0 && (len(x) < (nb-1)*ldx+cols || len(y) < (nb-1)*ldy+rows)) {
		panic("kernel: MatMulAddBatch: slice too short or stride too small for shape")
	}
	cur.matVec(y, w, x, rows, cols, nb, ldx, ldy)
}

// Dot returns sum x[i]*y[i] over i < len(x); len(y) >= len(x).
func Dot(x, y []float32) float32 {
	if len(y) < len(x) {
		panic("kernel: Dot: y shorter than x")
	}
	return cur.dot(x, y)
}

// Axpy computes y[i] += a*x[i] for i < len(x); len(y) >= len(x).
func Axpy(y []float32, a float32, x []float32) {
	if len(y) < len(x) {
		panic("kernel: Axpy: y shorter than x")
	}
	cur.axpy(y, a, x)
}

// Add computes dst[i] = a[i] + b[i] for i < len(dst); a and b must be at
// least as long as dst. dst may alias a or b.
func Add(dst, a, b []float32) {
	if len(a) < len(dst) || len(b) < len(dst) {
		panic("kernel: Add: operand shorter than dst")
	}
	cur.add(dst, a, b)
}

// ReLU computes dst[i] = max(x[i], 0) for i < len(dst); len(x) >= len(dst).
func ReLU(dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernel: ReLU: x shorter than dst")
	}
	cur.relu(dst, x)
}

// Tanh computes dst[i] = tanh(x[i]) for i < len(dst), with an absolute
// error of at most 2e-6 against the float64 tanh for every finite x.
func Tanh(dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernel: Tanh: x shorter than dst")
	}
	cur.tanh(dst, x)
}

// Sigmoid computes dst[i] = 1/(1+exp(-x[i])) for i < len(dst), with an
// absolute error of at most 2e-6 against float64 for every finite x.
func Sigmoid(dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernel: Sigmoid: x shorter than dst")
	}
	cur.sigmoid(dst, x)
}

// GateTanhSigmoid computes the WaveNet gated activation
// dst[i] = tanh(pre[i]) * sigmoid(pre[len(dst)+i]): pre holds the filter
// half then the gate half, len(pre) >= 2*len(dst). The absolute error is at
// most 2e-6 against float64 for every finite input.
func GateTanhSigmoid(dst, pre []float32) {
	if len(pre) < 2*len(dst) {
		panic("kernel: GateTanhSigmoid: pre shorter than 2*len(dst)")
	}
	cur.gate(dst, pre[:len(dst)], pre[len(dst):2*len(dst)])
}

// LogSoftmax computes dst[i] = x[i] - max - log(sum_j exp(x[j] - max)) for
// i < len(dst), the numerically stable log-softmax of one row
// (len(x) >= len(dst) >= 1). dst may alias x.
func LogSoftmax(dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernel: LogSoftmax: x shorter than dst")
	}
	cur.logSoftmax(dst, x[:len(dst)])
}

// Softmax computes dst[i] = exp(x[i] - max) / sum_j exp(x[j] - max) for
// i < len(dst), the numerically stable softmax of one row. dst may alias x.
func Softmax(dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernel: Softmax: x shorter than dst")
	}
	cur.softmax(dst, x[:len(dst)])
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if m < 0 || n < 0 || k < 0 || lda < ac || ldb < bc || ldc < n ||
		(ar > 0 && la < (ar-1)*lda+ac) || (br > 0 && lb < (br-1)*ldb+bc) || (m > 0 && lc < (m-1)*ldc+n) {
		panic(fmt.Sprintf("kernel: Gemm: slice too short or stride too small for shape (transA=%v transB=%v m=%d n=%d k=%d len(a)=%d lda=%d len(b)=%d ldb=%d len(c)=%d ldc=%d)",
			transA, transB, m, n, k, la, lda, lb, ldb, lc, ldc))
	}
}
