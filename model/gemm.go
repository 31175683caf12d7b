package model

func init() {
	register("Gemm", newGemm)
	register("MatMul", newMatMul)
}

// gemmKernel computes the ONNX Gemm
//
//	Y = alpha * A' · B' + beta * C
//
// where A' is A [M, K] (or Aᵀ for A [K, M] when transA), B' is B [K, N] (or
// Bᵀ for B [N, K] when transB) and the optional C broadcasts
// unidirectionally to [M, N] (scalar, [N], [1, N], [M, 1], [M, N], ...).
type gemmKernel struct {
	n              *nodeInfo
	alpha, beta    float32
	transA, transB bool
}

func newGemm(n *nodeInfo) (kernel, error) {
	k := &gemmKernel{n: n,
		alpha:  n.Attrs.Float("alpha", 1),
		beta:   n.Attrs.Float("beta", 1),
		transA: n.Attrs.Int("transA", 0) != 0,
		transB: n.Attrs.Int("transB", 0) != 0,
	}
	if n.Attrs.Int("broadcast", 1) == 0 {
		return nil, n.errorf("broadcast=0 (opset < 7) is not supported")
	}
	return k, nil
}

// gemmShape is one Gemm call's dimensions and C's broadcast shape.
type gemmShape struct {
	m, n, k      int
	cRows, cCols int // C viewed as [cRows, cCols]; each 1 or the full size
	hasC         bool
}

func (k *gemmKernel) shape(in []*Tensor) (gemmShape, error) {
	var g gemmShape
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return g, k.n.errorf("needs inputs A and B")
	}
	a, b := in[0], in[1]
	if a.DType != Float32 || b.DType != Float32 || a.Rank() != 2 || b.Rank() != 2 {
		return g, k.n.errorf("A and B must be float32 matrices, got %v and %v", a, b)
	}
	g.m, g.k = a.Shape[0], a.Shape[1]
	if k.transA {
		g.m, g.k = g.k, g.m
	}
	kb, nb := b.Shape[0], b.Shape[1]
	if k.transB {
		kb, nb = nb, kb
	}
	g.n = nb
	if kb != g.k {
		return g, k.n.errorf("inner dimensions differ: A %v (transA=%v), B %v (transB=%v)", a.Shape, k.transA, b.Shape, k.transB)
	}
	if len(in) > 2 && in[2] != nil {
		c := in[2]
		g.hasC = true
		g.cRows, g.cCols = 1, 1
		switch c.Rank() {
		case 0:
		case 1:
			g.cCols = c.Shape[0]
		case 2:
			g.cRows, g.cCols = c.Shape[0], c.Shape[1]
		default:
			g.cRows = -1
		}
		if c.DType != Float32 || g.cRows != 1 && g.cRows != g.m || g.cCols != 1 && g.cCols != g.n {
			return g, k.n.errorf("C %v does not broadcast to [%d, %d]", c, g.m, g.n)
		}
	}
	return g, nil
}

func (k *gemmKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	g, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	y := s.TensorNoZero(g.m, g.n)
	beta := float32(0)
	if g.hasC && k.beta != 0 {
		c := in[2].Data
		for i := 0; i < g.m; i++ {
			row := y.Data[i*g.n : (i+1)*g.n]
			crow := c[(i%g.cRows)*g.cCols:]
			for j := range row {
				row[j] = k.beta * crow[j%g.cCols]
			}
		}
		beta = 1
	}
	sgemm(k.transA, k.transB, g.m, g.n, g.k, k.alpha, a.Data, a.Shape[1], b.Data, b.Shape[1], beta, y.Data, g.n)
	return []*Tensor{y}, nil
}

// backward returns dA = alpha·dY·B'ᵀ (transposed back when transA),
// dB = alpha·A'ᵀ·dY (likewise) and dC = beta·dY summed over C's broadcast
// axes.
func (k *gemmKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	g, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	grads := make([]*Tensor, len(in))
	var gy []float32
	if len(gout) > 0 && gout[0] != nil {
		gy = gout[0].Data
	}
	lda, ldb := a.Shape[1], b.Shape[1]
	if need[0] {
		grads[0] = s.Tensor(a.Shape...)
		if gy != nil {
			if !k.transA { // dA [M, K] = dY · B'ᵀ
				sgemm(false, !k.transB, g.m, g.k, g.n, k.alpha, gy, g.n, b.Data, ldb, 0, grads[0].Data, lda)
			} else { // dA [K, M] = B' · dYᵀ
				sgemm(k.transB, true, g.k, g.m, g.n, k.alpha, b.Data, ldb, gy, g.n, 0, grads[0].Data, lda)
			}
		}
	}
	if len(need) > 1 && need[1] {
		grads[1] = s.Tensor(b.Shape...)
		if gy != nil {
			if !k.transB { // dB [K, N] = A'ᵀ · dY
				sgemm(!k.transA, false, g.k, g.n, g.m, k.alpha, a.Data, lda, gy, g.n, 0, grads[1].Data, ldb)
			} else { // dB [N, K] = dYᵀ · A'
				sgemm(true, k.transA, g.n, g.k, g.m, k.alpha, gy, g.n, a.Data, lda, 0, grads[1].Data, ldb)
			}
		}
	}
	if len(need) > 2 && need[2] && g.hasC {
		gc := s.Tensor(in[2].Shape...)
		grads[2] = gc
		if gy != nil {
			for i := 0; i < g.m; i++ {
				crow := gc.Data[(i%g.cRows)*g.cCols:]
				for j, v := range gy[i*g.n : (i+1)*g.n] {
					crow[j%g.cCols] += k.beta * v
				}
			}
		}
	}
	return grads, nil
}

// matMulKernel computes the ONNX MatMul with numpy semantics: A [..., M, K]
// times B [..., K, N] gives Y [..., M, N], the leading (batch) axes
// broadcasting against each other; a 1-D A is a row [1, K] and a 1-D B a
// column [K, 1], the added axis being dropped from Y.
type matMulKernel struct {
	n *nodeInfo
}

func newMatMul(n *nodeInfo) (kernel, error) { return &matMulKernel{n: n}, nil }

// matMulShape is one MatMul call's geometry. Batch axes are right-aligned
// to the output's; aStride/bStride are the matrix strides of A and B along
// each output batch axis (0 where that input broadcasts).
type matMulShape struct {
	m, k, n          int
	batch            []int // output batch dims
	aStride, bStride []int
	outShape         []int
	aBatch, bBatch   int // number of matrices in A and B
}

func (k *matMulKernel) shape(in []*Tensor) (matMulShape, error) {
	var g matMulShape
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return g, k.n.errorf("needs inputs A and B")
	}
	a, b := in[0], in[1]
	if a.DType != Float32 || b.DType != Float32 || a.Rank() < 1 || b.Rank() < 1 {
		return g, k.n.errorf("A and B must be float32 of rank >= 1, got %v and %v", a, b)
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	g.m, g.k = as[len(as)-2], as[len(as)-1]
	g.n = bs[len(bs)-1]
	if bs[len(bs)-2] != g.k {
		return g, k.n.errorf("inner dimensions differ: A %v, B %v", a.Shape, b.Shape)
	}
	ab, bb := as[:len(as)-2], bs[:len(bs)-2]
	nb := max(len(ab), len(bb))
	g.batch = make([]int, nb)
	g.aStride = make([]int, nb)
	g.bStride = make([]int, nb)
	g.aBatch, g.bBatch = 1, 1
	for i := nb - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := i - (nb - len(ab)); j >= 0 {
			da = ab[j]
		}
		if j := i - (nb - len(bb)); j >= 0 {
			db = bb[j]
		}
		if da != db && da != 1 && db != 1 {
			return g, k.n.errorf("batch axes of A %v and B %v do not broadcast", a.Shape, b.Shape)
		}
		g.batch[i] = max(da, db)
		if da == 0 || db == 0 {
			g.batch[i] = 0
		}
		if da != 1 {
			g.aStride[i] = g.aBatch
		}
		if db != 1 {
			g.bStride[i] = g.bBatch
		}
		g.aBatch *= da
		g.bBatch *= db
	}
	g.outShape = append([]int(nil), g.batch...)
	if a.Rank() > 1 {
		g.outShape = append(g.outShape, g.m)
	}
	if b.Rank() > 1 {
		g.outShape = append(g.outShape, g.n)
	}
	return g, nil
}

// offsets returns the matrix indices into A and B of output batch entry i.
func (g *matMulShape) offsets(i int) (ai, bi int) {
	for ax := len(g.batch) - 1; ax >= 0; ax-- {
		d := i % g.batch[ax]
		i /= g.batch[ax]
		ai += d * g.aStride[ax]
		bi += d * g.bStride[ax]
	}
	return ai, bi
}

// count is the number of output matrices.
func (g *matMulShape) count() int { return NumElements(g.batch) }

// foldA reports whether B is a single matrix and A's batch is the whole
// output batch, so the product is one [batch*M, K]·[K, N] GEMM.
func (g *matMulShape) foldA() bool { return g.bBatch == 1 && g.aBatch == g.count() }

func (k *matMulKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	g, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	a, b := in[0].Data, in[1].Data
	y := s.TensorNoZero(g.outShape...)
	mk, kn, mn := g.m*g.k, g.k*g.n, g.m*g.n
	if g.foldA() {
		sgemm(false, false, g.count()*g.m, g.n, g.k, 1, a, g.k, b, g.n, 0, y.Data, g.n)
		return []*Tensor{y}, nil
	}
	for i := 0; i < g.count(); i++ {
		ai, bi := g.offsets(i)
		sgemm(false, false, g.m, g.n, g.k, 1, a[ai*mk:], g.k, b[bi*kn:], g.n, 0, y.Data[i*mn:], g.n)
	}
	return []*Tensor{y}, nil
}

// backward returns dA = dY·Bᵀ and dB = Aᵀ·dY per output matrix, summed
// over the batch axes along which A or B was broadcast.
func (k *matMulKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	g, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	grads := make([]*Tensor, len(in))
	needA, needB := need[0], len(need) > 1 && need[1]
	if needA {
		grads[0] = s.Tensor(a.Shape...)
	}
	if needB {
		grads[1] = s.Tensor(b.Shape...)
	}
	if len(gout) == 0 || gout[0] == nil || g.count() == 0 {
		return grads, nil
	}
	gy := gout[0].Data
	mk, kn, mn := g.m*g.k, g.k*g.n, g.m*g.n
	if g.foldA() {
		bm := g.count() * g.m
		if needA {
			sgemm(false, true, bm, g.k, g.n, 1, gy, g.n, b.Data, g.n, 0, grads[0].Data, g.k)
		}
		if needB {
			sgemm(true, false, g.k, g.n, bm, 1, a.Data, g.k, gy, g.n, 0, grads[1].Data, g.n)
		}
		return grads, nil
	}
	for i := 0; i < g.count(); i++ {
		ai, bi := g.offsets(i)
		gyi := gy[i*mn:]
		if needA { // accumulate: several output matrices may share one A
			sgemm(false, true, g.m, g.k, g.n, 1, gyi, g.n, b.Data[bi*kn:], g.n, 1, grads[0].Data[ai*mk:], g.k)
		}
		if needB {
			sgemm(true, false, g.k, g.n, g.m, 1, a.Data[ai*mk:], g.k, gyi, g.n, 1, grads[1].Data[bi*kn:], g.n)
		}
	}
	return grads, nil
}
