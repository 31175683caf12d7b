//go:build !amd64 || purego

package vis

// useAVX is false: no assembly kernels here.
const useAVX = false

func sigmoidAVX(dst, src *float32, n int)                          { panic("vis: no AVX kernels") }
func sigmoidMixAVX(dst, src *float32, plane, n int, m *[9]float32) { panic("vis: no AVX kernels") }
func adamAVX(v, grad, m, s, f *float32, n int, k, eps float32)     { panic("vis: no AVX kernels") }
