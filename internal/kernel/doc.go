// Package kernel implements the float32 kernels of inference and training:
// matrix-vector and matrix-matrix products with BLAS sgemv/sgemm semantics
// on row-major slices, and the elementwise functions of WaveNet (the gated
// activation tanh(f)*sigmoid(g), tanh, sigmoid, ReLU, softmax).
//
// Three implementations are chosen at run time with golang.org/x/sys/cpu:
// Go assembly for AVX-512 (F, BW, VL and DQ), Go assembly for AVX2 with
// FMA, and pure Go. The purego build tag, and every architecture other
// than amd64, selects pure Go; Impl reports the choice. The tests run every
// implementation the CPU supports against the plain loops of ref.go and
// float64 references.
//
// MatVecAdd and MatMulAddBatch (y += W x for one or many streams) walk 16
// rows of W at a time with one accumulator per row and reduce the
// accumulators with a shuffle tree that leaves 16 consecutive y values in
// one register; with 4 or more streams, blocks of 4 rows x 4 streams share
// every vector loaded from W and x. MatMulAddPacked takes W pre-arranged
// (NewPacked) in column-major panels of 32 rows and steps 8 streams per
// pass with broadcasts and no horizontal sums, the fastest form for many
// streams. MatVecAddF16 and MatMulAddBatchF16 read W in IEEE binary16,
// halving the bytes streamed when the weights do not fit in L2 (and Q8 in
// q8.go holds int8 weights for AVX-512 VNNI products). Gemm follows the GotoBLAS loop order
// (K. Goto and R. van de Geijn, "Anatomy of high-performance matrix
// multiplication", ACM TOMS 34(3), 2008): B is packed in panels of 32
// (AVX-512) or 16 (AVX2) columns by blocks of 256 rows of op(B), and a
// register-blocked micro-kernel (12x32 with 24 zmm accumulators, or 6x16
// with 12 ymm ones) reads A in place through a row and a column stride,
// which serves A and A^T alike. Every assembly call is bounded (one tile,
// or about 1M multiply-adds), because assembly is not preemptible.
//
// tanh and sigmoid are built on a float32 exp in the manner of Cephes
// expf (Cody-Waite range reduction, degree-6 polynomial, exponent built
// in the bits): tanh(x) = 1 - 2/(exp(2x)+1), sigmoid(x) = 1/(1+exp(-x)),
// with an absolute error below 2e-6 (measured: 2e-7) for every finite
// input, saturating cleanly at large |x|.
//
// Reproducibility: MatMulAddPacked and the activations (GateTanhSigmoid,
// Tanh, Sigmoid) give bit-identical results on every implementation, and
// MatMulAddPacked at every batch size: each output is one fixed sequence
// of correctly rounded operations (for the products one sequential fma
// chain per output), which pure Go follows by emulating the fused
// multiply-add exactly (fma32) at a cost in speed. MatMulAddBatch is
// batch-invariant for row counts that are multiples of 16. The other
// products and the softmax sum in implementation-specific orders.
//
// # Generated assembly
//
// The .s files are written by the program in asmgen (go generate, from
// the directive below) and must not be edited by hand: a kernel is changed
// in its generator and the files regenerated. asmgen has one file per .s
// file (elem.go writes elem_amd64.s, and so on) and shared helpers in
// emit.go; it emits the assembly text itself rather than through avo, so
// that the layout, comments and tables stay as written. The structure is
// in Go: tables of kernels (elemOps, mvKernels, packedShapes, gemmTiles),
// one function per kernel family taking the instruction set (avx512 or
// avx2: register letter, lanes, zeroing instruction) so that the AVX-512
// and AVX2 forms come from one description, loops for the unrolled rows,
// streams and panels, and the DATA tables computed from their values (the
// exp constants of go.go). To change a kernel: edit its generator, run
// "go generate ./internal/kernel", review the .s diff, and run the tests
// with and without -tags purego (they compare every implementation with
// the plain loops of ref.go). The asmgen test fails when a committed .s
// file differs from its generator's output. A new kernel also needs its Go
// declaration in the matching _amd64.go file.
package kernel

//go:generate go run ./asmgen
