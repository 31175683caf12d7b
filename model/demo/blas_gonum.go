//go:build !cgo || noopenblas

package demo

import "gonum.org/v1/gonum/blas/gonum"

// newBLAS is gonum's pure-Go BLAS (builds without cgo or with -tags noopenblas).
func newBLAS() gonum.Implementation { return gonum.Implementation{} }

func singleThreadBLAS() (restore func()) { return func() {} }
