//go:build !amd64 || purego

package vis

// useAVX is false: no assembly kernels here.
const useAVX = false

func sigmoidAVX(dst, src *float32, n int)                          { panic("vis: no AVX kernels") }
func sigmoidMixAVX(dst, src *float32, plane, n int, m *[9]float32) { panic("vis: no AVX kernels") }
func adamAVX(v, grad, m, s *float32, n int, k, eps float32)        { panic("vis: no AVX kernels") }

func warpTapsAVX(s *tapArgs, idx *int32, k0, k1, k2, k3 *float32, n int) {
	panic("vis: no AVX kernels")
}
func warpGatherAVX(d, p *float32, idx *int32, k0, k1, k2, k3 *float32, n, w int, gain, bias float32) {
	panic("vis: no AVX kernels")
}

func warpScatterAVX(p, grad *float32, idx *int32, k0, k1, k2, k3 *float32, n, w int, gain float32) {
	panic("vis: no AVX kernels")
}

func warpScatter3AVX(p, grad *float32, idx *int32, k0, k1, k2, k3 *float32, n, w, hw int, gain *[3]float32) {
	panic("vis: no AVX kernels")
}

func sigmoidGradMixAVX(dst, grad, sig *float32, plane, n int, m *[9]float32) {
	panic("vis: no AVX kernels")
}

func unfoldPairAVX(zm, zp, a1, a2, b1, b2 *float32, n, w int) { panic("vis: no AVX kernels") }
func foldPairAVX(a1, a2, b1, b2, gm, gp *float32, n, w int)   { panic("vis: no AVX kernels") }

func sumDiffScaleAVX(s, d, a, b, k *float32, n int) { panic("vis: no AVX kernels") }

func warpGather3AVX(d, p *float32, idx *int32, k0, k1, k2, k3 *float32, n, w, hw int, gain, bias *[3]float32) {
	panic("vis: no AVX kernels")
}

func mirrorAVX(fwd, back, a, b *float32, n int)   { panic("vis: no AVX kernels") }
func foldMirrorAVX(s, d, a, back *float32, n int) { panic("vis: no AVX kernels") }
func sumDiffAVX(s, d, a, b *float32, n int)       { panic("vis: no AVX kernels") }
