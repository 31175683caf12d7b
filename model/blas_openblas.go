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

func init() {
	// OpenBLAS sizes its thread pool from the environment; without
	// OPENBLAS_NUM_THREADS use every CPU Go sees.
	if _, set := os.LookupEnv("OPENBLAS_NUM_THREADS"); !set {
		C.openblas_set_num_threads(C.int(runtime.NumCPU()))
	}
}

// sgemmBackend calls OpenBLAS cblas_sgemm; sgemm has ruled out empty
// products, so every slice has a first element.
func sgemmBackend(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
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
