package model

import (
	"math/rand"
	"strings"
	"testing"
)

func TestGemmHandValues(t *testing.T) {
	a := FromData([]float32{1, 2, 3, 4}, 2, 2)
	b := FromData([]float32{5, 6, 7, 8}, 2, 2)
	// A·B = [[19, 22], [43, 50]]; Aᵀ·B = [[26, 30], [38, 44]];
	// A·Bᵀ = [[17, 23], [39, 53]]; Aᵀ·Bᵀ = [[23, 31], [34, 46]].
	cases := []struct {
		name  string
		attrs Attrs
		c     *Tensor
		want  []float32
	}{
		{"plain", nil, nil, []float32{19, 22, 43, 50}},
		{"transA", Attrs{"transA": int64(1)}, nil, []float32{26, 30, 38, 44}},
		{"transB", Attrs{"transB": int64(1)}, nil, []float32{17, 23, 39, 53}},
		{"both", Attrs{"transA": int64(1), "transB": int64(1)}, nil, []float32{23, 31, 34, 46}},
		{"alpha beta row bias", Attrs{"alpha": float32(0.5), "beta": float32(2)}, FromData([]float32{1, -1}, 2), []float32{11.5, 9, 23.5, 23}},
		{"scalar bias", nil, FromData([]float32{3}), []float32{22, 25, 46, 53}},
		{"column bias", nil, FromData([]float32{1, 2}, 2, 1), []float32{20, 23, 45, 52}},
		{"matrix bias beta 0", Attrs{"beta": float32(0)}, FromData([]float32{9, 9, 9, 9}, 2, 2), []float32{19, 22, 43, 50}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []*Tensor{a, b}
			if c.c != nil {
				in = append(in, c.c)
			}
			k := newKernel(t, "Gemm", c.attrs, in)
			y := runDirty(t, k, in...)
			if !SameShape(y.Shape, []int{2, 2}) {
				t.Fatalf("shape %v", y.Shape)
			}
			assertClose(t, y, c.want, 1e-6)
		})
	}
}

func TestGemmVariants(t *testing.T) {
	r := rand.New(rand.NewSource(20))
	const m, n, kk = 3, 4, 5
	for _, transA := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			for _, cShape := range [][]int{nil, {}, {1}, {n}, {1, n}, {m, 1}, {m, n}} {
				name := "A" + map[bool]string{false: "", true: "T"}[transA] + "_B" + map[bool]string{false: "", true: "T"}[transB] + "_C" + ShapeString(cShape)
				if cShape == nil {
					name += "none"
				}
				t.Run(name, func(t *testing.T) {
					aShape, bShape := []int{m, kk}, []int{kk, n}
					if transA {
						aShape = []int{kk, m}
					}
					if transB {
						bShape = []int{n, kk}
					}
					in := []*Tensor{randTensor(r, aShape...), randTensor(r, bShape...)}
					if cShape != nil {
						in = append(in, randTensor(r, cShape...))
					}
					attrs := Attrs{"alpha": float32(0.7), "beta": float32(-1.3), "transA": int64(map[bool]int{true: 1}[transA]), "transB": int64(map[bool]int{true: 1}[transB])}
					k := newKernel(t, "Gemm", attrs, in)
					y := runDirty(t, k, in...)
					// Reference: the textbook loop, then beta*C broadcast.
					want := make([]float32, m*n)
					refGemm(transA, transB, m, n, kk, 0.7, in[0].Data, aShape[1], in[1].Data, bShape[1], 0, want, n)
					if cShape != nil {
						c := in[2]
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								ci := 0
								switch {
								case len(cShape) == 1 && cShape[0] == n:
									ci = j
								case len(cShape) == 2 && cShape[0] == m && cShape[1] == n:
									ci = i*n + j
								case len(cShape) == 2 && cShape[0] == m:
									ci = i
								case len(cShape) == 2:
									ci = j
								}
								want[i*n+j] += -1.3 * c.Data[ci]
							}
						}
					}
					assertClose(t, y, want, 1e-5)
					for i := range in {
						checkGrad(t, k, in, i, 1e-2, 1e-3)
					}
				})
			}
		}
	}
}

func TestGemmErrors(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	for _, c := range []struct {
		attrs  Attrs
		shapes [][]int
		want   string
	}{
		{nil, [][]int{{2, 3}, {4, 5}}, "inner"},
		{Attrs{"transA": int64(1)}, [][]int{{2, 3}, {3, 5}}, "inner"},
		{nil, [][]int{{2, 3, 1}, {3, 5}}, "matrices"},
		{nil, [][]int{{2, 3}, {3, 5}, {3}}, "broadcast"},
		{nil, [][]int{{2, 3}, {3, 5}, {5, 2}}, "broadcast"},
		{nil, [][]int{{2, 3}, {3, 5}, {1, 2, 5}}, "broadcast"},
	} {
		var in []*Tensor
		for _, s := range c.shapes {
			in = append(in, randTensor(r, s...))
		}
		k := newKernel(t, "Gemm", c.attrs, in)
		if _, err := k.forward(newScratch(), in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want one mentioning %q", c.shapes, c.attrs, err, c.want)
		}
	}
}

// refMatMul multiplies numpy-style with explicit index arithmetic.
func refMatMul(a, b *Tensor, outShape []int) []float32 {
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	nb := max(len(as), len(bs)) - 2
	batch := make([]int, nb)
	for i := range batch {
		da, db := 1, 1
		if j := i - (nb - (len(as) - 2)); j >= 0 {
			da = as[j]
		}
		if j := i - (nb - (len(bs) - 2)); j >= 0 {
			db = bs[j]
		}
		batch[i] = da
		if da == 1 {
			batch[i] = db
		}
	}
	// index of batch entry idx in a batch shape bshape (right-aligned, broadcasting 1s)
	flat := func(idx, bshape []int) int {
		off, f := len(idx)-len(bshape), 0
		for i, d := range bshape {
			v := idx[off+i]
			if d == 1 {
				v = 0
			}
			f = f*d + v
		}
		return f
	}
	out := make([]float32, 0, NumElements(outShape))
	idx := make([]int, nb)
	for bi := 0; bi < NumElements(batch); bi++ {
		rem := bi
		for d := nb - 1; d >= 0; d-- {
			idx[d], rem = rem%batch[d], rem/batch[d]
		}
		ao, bo := flat(idx, as[:len(as)-2])*m*k, flat(idx, bs[:len(bs)-2])*k*n
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += float64(a.Data[ao+i*k+p]) * float64(b.Data[bo+p*n+j])
				}
				out = append(out, float32(s))
			}
		}
	}
	return out
}

func TestMatMulHandValues(t *testing.T) {
	a := FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := FromData([]float32{1, 0, 0, 1, 1, 1}, 3, 2)
	k := newKernel(t, "MatMul", nil, []*Tensor{a, b})
	y := runDirty(t, k, a, b)
	if !SameShape(y.Shape, []int{2, 2}) {
		t.Fatalf("shape %v", y.Shape)
	}
	assertClose(t, y, []float32{4, 5, 10, 11}, 1e-6)

	// Vector · matrix and matrix · vector drop the promoted axis; vector · vector is a scalar.
	v := FromData([]float32{1, -1, 2}, 3)
	y = runKernel(t, k, v, b)
	if !SameShape(y.Shape, []int{2}) {
		t.Fatalf("vec·mat shape %v", y.Shape)
	}
	assertClose(t, y, []float32{3, 1}, 1e-6)
	y = runKernel(t, k, a, v)
	if !SameShape(y.Shape, []int{2}) {
		t.Fatalf("mat·vec shape %v", y.Shape)
	}
	assertClose(t, y, []float32{5, 11}, 1e-6)
	y = runKernel(t, k, v, v)
	if y.Rank() != 0 {
		t.Fatalf("vec·vec shape %v", y.Shape)
	}
	assertClose(t, y, []float32{6}, 1e-6)
}

func TestMatMulVariants(t *testing.T) {
	r := rand.New(rand.NewSource(22))
	for _, c := range []struct {
		a, b, out []int
	}{
		{[]int{3, 4}, []int{4, 5}, []int{3, 5}},
		{[]int{4}, []int{2, 4, 3}, []int{2, 3}},
		{[]int{2, 3, 4}, []int{4}, []int{2, 3}},
		{[]int{4}, []int{4}, []int{}},
		{[]int{2, 3, 4}, []int{4, 5}, []int{2, 3, 5}},          // B shared: one folded GEMM
		{[]int{3, 4}, []int{2, 4, 5}, []int{2, 3, 5}},          // A shared
		{[]int{2, 3, 4}, []int{2, 4, 5}, []int{2, 3, 5}},       // same batch
		{[]int{2, 1, 3, 4}, []int{3, 4, 2}, []int{2, 3, 3, 2}}, // both broadcast
		{[]int{1, 2, 3, 4}, []int{1, 2, 4, 3}, []int{1, 2, 3, 3}},
		{[]int{3, 1, 2, 3}, []int{1, 2, 3, 2}, []int{3, 2, 2, 2}},
		{[]int{1, 2, 3, 4}, []int{3, 1, 4, 2}, []int{3, 2, 3, 2}},
		{[]int{0, 2, 3}, []int{3, 4}, []int{0, 2, 4}},
	} {
		t.Run(ShapeString(c.a)+"·"+ShapeString(c.b), func(t *testing.T) {
			in := []*Tensor{randTensor(r, c.a...), randTensor(r, c.b...)}
			k := newKernel(t, "MatMul", nil, in)
			y := runDirty(t, k, in...)
			if !SameShape(y.Shape, c.out) {
				t.Fatalf("shape %v, want %v", y.Shape, c.out)
			}
			assertClose(t, y, refMatMul(in[0], in[1], c.out), 1e-5)
			if y.Len() > 0 {
				checkGrad(t, k, in, 0, 1e-2, 1e-3)
				checkGrad(t, k, in, 1, 1e-2, 1e-3)
			}
		})
	}
}

func TestMatMulErrors(t *testing.T) {
	r := rand.New(rand.NewSource(23))
	for _, c := range []struct {
		a, b []int
		want string
	}{
		{[]int{2, 3}, []int{4, 5}, "inner"},
		{[]int{3}, []int{4}, "inner"},
		{[]int{2, 2, 3}, []int{3, 3, 4}, "broadcast"},
		{[]int{}, []int{3}, "rank"},
	} {
		in := []*Tensor{randTensor(r, c.a...), randTensor(r, c.b...)}
		k := newKernel(t, "MatMul", nil, in)
		if _, err := k.forward(newScratch(), in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v · %v: error %v, want one mentioning %q", c.a, c.b, err, c.want)
		}
	}
}
