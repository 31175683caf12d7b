//go:build cgo && !noopenblas

package model

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

void openblas_set_num_threads(int num_threads);
*/
import "C"

import (
	"os"
	"runtime"
	"unsafe"
)

const blasBackend = "openblas"

// goSplit is set when deepscope, not OpenBLAS, spreads a product over the
// CPUs. OpenBLAS's own worker threads spin while they wait for work, which
// costs the live stream (two threads per frame: reader and network) and
// background jobs their CPU: measured on tiny_darknet, 91-102 ms of CPU per
// frame with OpenBLAS threads against 56-61 ms single-threaded. So unless
// the user sets OPENBLAS_NUM_THREADS, OpenBLAS runs single-threaded and
// sgemmBackend splits large products across goroutines.
var goSplit bool

func init() {
	if _, set := os.LookupEnv("OPENBLAS_NUM_THREADS"); !set {
		C.openblas_set_num_threads(1)
		goSplit = runtime.NumCPU() > 1
	}
}

// gemmSplitFlops is the product size (m*n*k) above which sgemmBackend splits
// the work across goroutines.
const gemmSplitFlops = 1 << 20

// sgemmBackend computes the product with OpenBLAS, splitting the rows (or,
// for short wide products, the columns) of C across goroutines when the
// product is large.
func sgemmBackend(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !goSplit || m*n*k < gemmSplitFlops {
		cblasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m >= n {
		splitWork(m, m*n*k, func(lo, hi int) {
			aoff := lo * lda // rows of A
			if transA {
				aoff = lo // columns of the stored A
			}
			cblasSgemm(transA, transB, hi-lo, n, k, alpha, a[aoff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	splitWork(n, m*n*k, func(lo, hi int) {
		boff := lo // columns of B
		if transB {
			boff = lo * ldb // rows of the stored B
		}
		cblasSgemm(transA, transB, m, hi-lo, k, alpha, a, lda, b[boff:], ldb, beta, c[lo:], ldc)
	})
}

// sgemmSerialBackend is one OpenBLAS call on this goroutine.
func sgemmSerialBackend(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	cblasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// cblasSgemm calls OpenBLAS cblas_sgemm; sgemm has ruled out empty
// products, so every slice has a first element. For beta == 0 it clears C
// itself and passes beta = 1: OpenBLAS's own clearing (its "beta" kernel)
// took 4-8% of the CPU time of gradient passes and Fourier renders, several
// times what Go's memclr takes.
func cblasSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta == 0 {
		if ldc == n {
			clear(c[:m*n])
		} else {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		beta = 1
	}
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}
