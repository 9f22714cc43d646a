package kernel

// impl is one implementation of the kernels. The exported functions check
// shapes and call cur; tests run every entry of impls against the plain
// references in ref.go.
type impl struct {
	name string
	// matVec computes y[s*ldy:][:rows] += W x[s*ldx:][:cols] for nb
	// streams (nb == 1 ignores ldx and ldy). Shapes are already checked.
	matVec  func(y, w, x []float32, rows, cols, nb, ldx, ldy int)
	gemm    func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	dot     func(x, y []float32) float32
	axpy    func(y []float32, a float32, x []float32)
	add     func(dst, a, b []float32)
	relu    func(dst, x []float32)
	tanh    func(dst, x []float32)
	sigmoid func(dst, x []float32)
	// gate computes dst[i] = tanh(f[i]) * sigmoid(g[i]), len(f) == len(g) == len(dst).
	gate func(dst, f, g []float32)
	// matVecF16 is matVec with W in binary16.
	matVecF16 func(y []float32, w []uint16, x []float32, rows, cols, nb, ldx, ldy int)
	// packed computes MatMulAddPacked (shapes checked).
	packed func(y []float32, ldy int, p *Packed, x []float32, ldx, nb int)
	// softmax and logSoftmax work on one row, len(x) == len(dst).
	softmax, logSoftmax func(dst, x []float32)
}

// goImpl is the pure-Go implementation: always available, the only one
// under the purego build tag.
var goImpl = &impl{
	name:    "go",
	matVec:  matVecGo,
	gemm:    gemmGo,
	dot:     dotGo,
	axpy:    axpyGo,
	add:     addGo,
	relu:    reluGo,
	tanh:    tanhGo,
	sigmoid: sigmoidGo,
	gate:    gateGo,

	matVecF16:  matVecF16Go,
	softmax:    softmaxGo,
	logSoftmax: logSoftmaxGo,
}

func init() { goImpl.packed = packedGo }

// impls lists the implementations this CPU can run, best first; cur is
// the one in use (impls[0]). Both are set by init in the per-architecture
// file.
var (
	impls []*impl
	cur   = goImpl
)
