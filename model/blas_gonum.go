//go:build !cgo || noopenblas

package model

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

const blasBackend = "gonum"

// sgemmBackend is the pure-Go SGEMM from gonum (blas/gonum via blas32).
func sgemmBackend(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ar, ac := m, k
	ta := blas.NoTrans
	if transA {
		ar, ac, ta = k, m, blas.Trans
	}
	br, bc := k, n
	tb := blas.NoTrans
	if transB {
		br, bc, tb = n, k, blas.Trans
	}
	blas32.Gemm(ta, tb, alpha,
		blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: a[:(ar-1)*lda+ac]},
		blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: b[:(br-1)*ldb+bc]},
		beta,
		blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c[:(m-1)*ldc+n]})
}

// sgemmSerialBackend is sgemmBackend: gonum decides its own concurrency.
func sgemmSerialBackend(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmBackend(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
