// Package kernel provides the float32 linear-algebra kernels of inference
// and training: matrix-vector and matrix-matrix products (BLAS sgemv/sgemm
// semantics, row-major), in Go assembly for AVX2/FMA and AVX-512 chosen at
// run time, with a pure-Go fallback that the purego build tag selects and
// against which the assembly is tested.
package kernel
