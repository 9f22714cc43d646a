// Command asmgen writes the Go assembly of package kernel: one generator
// per .s file, each a Go function that emits the file's text from the
// kernel's structure (register tables, unroll factors, one description for
// the AVX-512 and AVX2 forms). Run it through go generate in
// internal/kernel:
//
//	go run ./asmgen            // writes every file
//	go run ./asmgen -out dir elem gemm
package main
