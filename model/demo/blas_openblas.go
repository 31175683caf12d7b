//go:build cgo && !noopenblas

package demo

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// fastBLAS is gonum's BLAS with SGEMM, where training spends much of its
// time, handed to OpenBLAS (as the engine does; see model/blas_openblas.go).
type fastBLAS struct{ gonum.Implementation }

func newBLAS() fastBLAS { return fastBLAS{} }

// Sgemm computes the row-major C = alpha*op(A)*op(B) + beta*C.
func (fastBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if tA != blas.NoTrans {
		ta = C.CblasTrans
	}
	if tB != blas.NoTrans {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// singleThreadBLAS makes OpenBLAS single-threaded (training runs one
// goroutine per core itself) and returns a function restoring the previous
// setting.
func singleThreadBLAS() (restore func()) {
	n := C.openblas_get_num_threads()
	C.openblas_set_num_threads(1)
	return func() { C.openblas_set_num_threads(n) }
}
