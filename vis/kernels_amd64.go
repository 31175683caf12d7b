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

// adamAVX is adam.step's kernel for n values, n a multiple of 8.
//
//go:noescape
func adamAVX(v, grad, m, s *float32, n int, k, eps float32)

// warpTapsAVX is warp.rowTaps's kernel for n pixels, n a multiple of 4.
//
//go:noescape
func warpTapsAVX(s *tapArgs, idx *int32, k0, k1, k2, k3 *float32, n int)

// warpGatherAVX is applyPlanes's kernel for n pixels of a span of one
// plane, n a multiple of 8.
//
//go:noescape
func warpGatherAVX(d, p *float32, idx *int32, k0, k1, k2, k3 *float32, n, w int, gain, bias float32)

// warpScatterAVX is adjointRows's kernel for n pixels of a span of one
// plane, n a multiple of 8.
//
//go:noescape
func warpScatterAVX(p, grad *float32, idx *int32, k0, k1, k2, k3 *float32, n, w int, gain float32)

// warpScatter3AVX is adjointRows's kernel for n pixels of a span of three
// planes, n a multiple of 8.
//
//go:noescape
func warpScatter3AVX(p, grad *float32, idx *int32, k0, k1, k2, k3 *float32, n, w, hw int, gain *[3]float32)

// sigmoidGradMixAVX is sigmoidGradMix3's kernel for n pixels, n a multiple
// of 8, of three planes spaced plane values apart, m row-major.
//
//go:noescape
func sigmoidGradMixAVX(dst, grad, sig *float32, plane, n int, m *[9]float32)

// unfoldPairAVX is unfoldPair's kernel for x = 1..n, n a multiple of 8.
//
//go:noescape
func unfoldPairAVX(zm, zp, a1, a2, b1, b2 *float32, n, w int)

// foldPairAVX is foldPair's kernel for x = 1..n, n a multiple of 8.
//
//go:noescape
func foldPairAVX(a1, a2, b1, b2, gm, gp *float32, n, w int)

// sumDiffScaleAVX is sumDiffScale's kernel for n values, n a multiple of 8.
//
//go:noescape
func sumDiffScaleAVX(s, d, a, b, k *float32, n int)

// warpGather3AVX is applyPlanes's kernel for n pixels of a span of three
// planes, n a multiple of 8.
//
//go:noescape
func warpGather3AVX(d, p *float32, idx *int32, k0, k1, k2, k3 *float32, n, w, hw int, gain, bias *[3]float32)

// mirrorAVX is mirror's kernel for n values, n a multiple of 8.
//
//go:noescape
func mirrorAVX(fwd, back, a, b *float32, n int)

// foldMirrorAVX is foldMirror's kernel for n values, n a multiple of 8.
//
//go:noescape
func foldMirrorAVX(s, d, a, back *float32, n int)

// sumDiffAVX is sumDiff's kernel for n values, n a multiple of 8.
//
//go:noescape
func sumDiffAVX(s, d, a, b *float32, n int)
