package kernel

// The plain-loop reference implementations. Every faster kernel is tested
// against these.

// gemmRef computes C = alpha*op(A)*op(B) + beta*C, row-major, where op(A) is
// (m, k) and op(B) is (k, n); transA means A is stored (k, m), transB means
// B is stored (n, k). lda, ldb, ldc are the row strides of the stored
// matrices.
func gemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// matVecAddRef computes y += W x for W (rows, cols) row-major.
func matVecAddRef(y, w, x []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		row := w[r*cols : r*cols+cols]
		var s float32
		for c, v := range row {
			s += v * x[c]
		}
		y[r] += s
	}
}
