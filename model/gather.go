package model

func init() { register("Gather", newGather) }

// gatherKernel picks slices of data along axis at int64 indices of any rank
// (negative indices count from the end):
//
//	y[i_0..i_(a-1), j_0..j_(q-1), i_(a+1)..] = data[i_0..i_(a-1), idx[j], i_(a+1)..]
//
// so y.shape = data.shape[:axis] + indices.shape + data.shape[axis+1:]. The
// gradient of data scatter-adds g_out back to the picked positions
// (repeated indices accumulate); indices get no gradient.
type gatherKernel struct {
	n    *nodeInfo
	axis int
}

func newGather(n *nodeInfo) (kernel, error) {
	if idx := n.constInput(1); idx != nil && idx.DType != Int64 {
		return nil, n.errorf("indices must be int64, got %v", idx)
	}
	return &gatherKernel{n: n, axis: n.Attrs.Int("axis", 0)}, nil
}

// gatherPlan is the validated geometry of one Gather call.
type gatherPlan struct {
	axis         int
	outer, inner int   // elements before / after the gathered axis
	dim          int   // data.shape[axis]
	idx          []int // normalized indices, flattened
	shape        []int // output shape
}

func (k *gatherKernel) plan(data, indices *Tensor) (*gatherPlan, error) {
	if indices == nil || indices.DType != Int64 {
		return nil, k.n.errorf("indices must be int64, got %v", indices)
	}
	axis, ok := shapeAxis(k.axis, data.Rank())
	if !ok {
		return nil, k.n.errorf("axis %d out of range for data of rank %d", k.axis, data.Rank())
	}
	p := &gatherPlan{
		axis:  axis,
		outer: NumElements(data.Shape[:axis]),
		inner: NumElements(data.Shape[axis+1:]),
		dim:   data.Shape[axis],
		idx:   make([]int, len(indices.Ints)),
	}
	for i, v := range indices.Ints {
		j := int(v)
		if j < 0 {
			j += p.dim
		}
		if j < 0 || j >= p.dim {
			return nil, k.n.errorf("index %d out of range for axis %d of size %d", v, axis, p.dim)
		}
		p.idx[i] = j
	}
	p.shape = make([]int, 0, data.Rank()-1+indices.Rank())
	p.shape = append(p.shape, data.Shape[:axis]...)
	p.shape = append(p.shape, indices.Shape...)
	p.shape = append(p.shape, data.Shape[axis+1:]...)
	return p, nil
}

// gatherInto copies the picked inner blocks of src into dst.
func gatherInto[T float32 | int64](dst, src []T, p *gatherPlan) {
	off := 0
	for o := range p.outer {
		base := o * p.dim * p.inner
		for _, j := range p.idx {
			s := base + j*p.inner
			off += copy(dst[off:off+p.inner], src[s:s+p.inner])
		}
	}
}

func (k *gatherKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	p, err := k.plan(in[0], in[1])
	if err != nil {
		return nil, err
	}
	y := shapeAlloc(s, in[0].DType, p.shape)
	if y.DType == Int64 {
		gatherInto(y.Ints, in[0].Ints, p)
	} else {
		gatherInto(y.Data, in[0].Data, p)
	}
	return []*Tensor{y}, nil
}

func (k *gatherKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	g := make([]*Tensor, len(in))
	if !need[0] || in[0].DType != Float32 {
		return g, nil
	}
	gd := s.Tensor(in[0].Shape...)
	g[0] = gd
	if gout[0] == nil {
		return g, nil
	}
	p, err := k.plan(in[0], in[1])
	if err != nil {
		return nil, err
	}
	src := gout[0].Data
	off := 0
	for o := range p.outer {
		base := o * p.dim * p.inner
		for _, j := range p.idx {
			dst := gd.Data[base+j*p.inner : base+(j+1)*p.inner]
			for i, v := range src[off : off+p.inner] {
				dst[i] += v
			}
			off += p.inner
		}
	}
	return g, nil
}
