// Package openblas links OpenBLAS's cblas_sgemm through cgo, only to measure package gemm
// against it. It is built for real only with `-tags openblas` and cgo (a cgo package cannot hold
// gemm's Go assembly, hence a package of its own); otherwise Available is false and Sgemm panics.
// The default build never needs OpenBLAS.
//
// # Invariants
//
//   - Sgemm has gemm.Sgemm's signature, layouts (row-major, leading dimensions) and invariants.
package openblas
