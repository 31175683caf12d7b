package model

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/gonum"
)

// sgemm computes the row-major single-precision matrix product
//
//	C = alpha*op(A)*op(B) + beta*C
//
// where op(A) is m×k (A itself, or Aᵀ when transA), op(B) is k×n (B or Bᵀ
// when transB) and C is m×n. lda, ldb and ldc are the row strides of A, B
// and C as stored. With beta == 0 the prior contents of C are ignored (NaNs
// included), so C may come from Scratch.FloatsNoZero.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !degenerate(m, n, k, alpha, beta, c, ldc) {
		sgemmBackend(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// degenerate handles the products with nothing to multiply (C = beta·C)
// and reports whether it did.
func degenerate(m, n, k int, alpha, beta float32, c []float32, ldc int) bool {
	if m <= 0 || n <= 0 {
		return true
	}
	if k <= 0 || alpha == 0 {
		// Nothing to multiply: C = beta*C. BLAS would do the same, but some
		// implementations reject the degenerate leading dimensions.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else if beta != 1 {
				for j := range row {
					row[j] *= beta
				}
			}
		}
		return true
	}
	return false
}

// Sgemm computes the row-major single-precision product C = alpha·op(A)·op(B)
// + beta·C with the engine's BLAS (see sgemm for the arguments), spread over
// the processors when the product is large. It lets other packages run
// their dense linear algebra on the same backend as the network.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine alone, for callers that
// run independent products side by side themselves.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !degenerate(m, n, k, alpha, beta, c, ldc) {
		sgemmSerialBackend(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// BLASBackend names the SGEMM implementation compiled in: "openblas" (cgo
// build, the default) or "gonum" (pure Go: CGO_ENABLED=0 or -tags noopenblas).
func BLASBackend() string { return blasBackend }

// parallelMinWork is the amount of work (roughly, elements touched) below
// which splitWork runs on the calling goroutine: smaller loops are faster
// than the cost of waking goroutines.
const parallelMinWork = 1 << 16

// splitWork calls fn over a partition of [0, n) into contiguous chunks,
// running them on up to runtime.NumCPU() goroutines when work (an estimate
// of the elements the whole loop touches) is at least parallelMinWork, and
// as a single fn(0, n) call otherwise. fn must be safe to run concurrently
// on disjoint ranges.
func splitWork(n, work int, fn func(lo, hi int)) {
	workers := runtime.NumCPU()
	if workers > n {
		workers = n
	}
	if workers <= 1 || work < parallelMinWork {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/workers)
	wg.Wait()
}

// gonumL1 is gonum's pure-Go BLAS, used for the level-1 routines on short rows
// (its amd64 assembly beats a Go loop and a cgo call would cost more than
// the row).
var gonumL1 gonum.Implementation

// saxpy adds a*x to y element by element over len(y) (x may be longer).
func saxpy(a float32, x, y []float32) {
	if len(y) > 0 {
		gonumL1.Saxpy(len(y), a, x, 1, y, 1)
	}
}

// sdot is Σ x[i]*y[i] over len(y) (x may be longer).
func sdot(x, y []float32) float32 {
	if len(y) == 0 {
		return 0
	}
	return gonumL1.Sdot(len(y), x, 1, y, 1)
}
