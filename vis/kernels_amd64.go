//go:build !purego

package vis

import "golang.org/x/sys/cpu"

// useAVX selects the assembly kernels of kernels_amd64.s: the sigmoid of
// the Fourier parameterization (sigmoid.go) and the Adam step (optimize.go).
var useAVX = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// sigmoidAVX sets dst[j] to the sigmoid of src[j] for n values, n a
// multiple of 8.
//
//go:noescape
func sigmoidAVX(dst, src *float32, n int)

// sigmoidMixAVX is sigmoidMix3's kernel for n pixels, n a multiple of 8,
// of three planes spaced plane values apart, m row-major.
//
//go:noescape
func sigmoidMixAVX(dst, src *float32, plane, n int, m *[9]float32)

// adamAVX is adam.step's kernel for n values, n a multiple of 8; f is
// nil or the scale of the variables (n values).
//
//go:noescape
func adamAVX(v, grad, m, s, f *float32, n int, k, eps float32)
