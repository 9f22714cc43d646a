package kernel

// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, as
// BLAS sgemm: op(A) is (m, k), op(B) is (k, n), C is (m, n). transA means A
// is stored as (k, m), transB means B is stored as (n, k). lda, ldb and ldc
// are the row strides of A, B and C as stored. With beta == 0, C is not
// read (it may hold NaN).
//
// It panics when a slice is too short for the shapes given.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// MatVecAdd computes y += W x, W (rows, cols) row-major, len(x) >= cols,
// len(y) >= rows.
func MatVecAdd(y, w, x []float32, rows, cols int) {
	if len(w) < rows*cols || len(x) < cols || len(y) < rows {
		panic("kernel: MatVecAdd: slice too short for shape")
	}
	matVecAddRef(y, w, x, rows, cols)
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
		panic("kernel: Gemm: slice too short or stride too small for shape")
	}
}
