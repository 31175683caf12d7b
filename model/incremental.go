package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Incremental forward passes: an input that differs from an already computed
// one only inside a box (an occlusion patch, a painted stroke) changes every
// spatially local layer only inside the box's forward footprint, the box
// grown by each op's kernel, stride and padding. Patcher.Run (and the
// one-off RunPatched) recompute just that part of each layer: a windowed op
// (Conv, MaxPool, AveragePool) runs on the crop of its input that the
// changed output window reads, halo included, with the op's own padding
// only where the crop touches the true border of the map; a pointwise op
// (activations, BatchNormalization, LRN, Add/Mul/... of maps and
// per-channel values, Concat along channels) runs on the window itself.
// The windows follow the receptive-field edges of receptive.go, read
// forwards. The result is pasted over the clean value only when a
// layer is read whole: at a non-local op (GlobalAveragePool, Gemm, Flatten,
// Reshape, ...), or once the window covers the whole map, every later layer
// is computed in full.

// ErrNotPatchable reports that a model or input does not fit incremental
// recomputation (no 4-d float input, or an input size other than the one
// the model was loaded for); a full forward pass still works.
var ErrNotPatchable = errors.New("incremental forward pass not possible")

// patchVal is one value slot's state in an incremental pass.
type patchVal struct {
	changed bool // differs from the base pass somewhere in box
	box     Box  // spatial positions that may differ (rank-4 values)
	// t holds the new values: the whole tensor when whole is set, else the
	// [N, C, box.Dy(), box.Dx()] window over box. nil when !changed.
	t     *Tensor
	whole bool
}

// patchRun is one incremental pass.
type patchRun struct {
	m    *Model
	p    *rfPlanData
	s    *Scratch
	base []*Tensor
	vals []patchVal
	// nodes computed over a window and in full, for tests
	nWindowed, nFull int
}

// Patcher computes incremental forward passes from one base pass, reusing
// its buffers from pass to pass: for many variants of one input (the copies
// of occlusion sensitivity). A Patcher is used by one goroutine at a time;
// several Patchers may share a base pass.
type Patcher struct {
	m    *Model
	base *Activations
	s    *Scratch
	last *Activations
}

// NewPatcher returns a Patcher for variants of the input of base, a forward
// pass of m that must stay unreleased while the Patcher is in use. It
// returns an error wrapping ErrNotPatchable when the model's first input is
// not N x C x H x W float32 of the size the model was loaded with.
func (m *Model) NewPatcher(base *Activations) (*Patcher, error) {
	if base == nil || base.vals == nil {
		return nil, fmt.Errorf("incremental pass needs the activations of an unreleased forward pass")
	}
	if base.m != m {
		return nil, fmt.Errorf("incremental pass of model %s got the activations of model %s", m.Name, base.m.Name)
	}
	if len(m.Inputs) == 0 {
		return nil, fmt.Errorf("model %s has no inputs", m.Name)
	}
	p := m.rfPlan()
	in := m.Inputs[0]
	inSlot := m.index[in.Name]
	if in.DType != Float32 || len(in.Shape) != 4 || p.shapes[inSlot] == nil {
		return nil, fmt.Errorf("input %q has shape %s: %w (want N x C x H x W float32)", in.Name, ShapeString(in.Shape), ErrNotPatchable)
	}
	if b0 := base.vals[inSlot]; b0 == nil || b0.DType != Float32 || !SameShape(b0.Shape[1:], p.shapes[inSlot][1:]) {
		return nil, fmt.Errorf("base input %v is not of the loaded size %s: %w", b0, ShapeString(p.shapes[inSlot]), ErrNotPatchable)
	}
	return &Patcher{m: m, base: base, s: newScratch()}, nil
}

// Run computes the forward pass of x, an input for the model's first input
// that equals the base pass's input everywhere outside box (rows
// box.Y0..Y1-1, columns box.X0..X1-1 of the N x C x H x W input; every
// channel), reusing the base pass's layers wherever the change cannot
// reach. Its values equal those of Model.Run(x) up to float rounding. want
// names the layers the caller will read (e.g. the target's logits): only
// what they depend on is computed, and only they (and x) are guaranteed to
// hold a value in the result; with none, every layer does. Other graph
// inputs are taken from the base pass.
//
// The result shares the base pass's unchanged tensors and the Patcher's
// buffers: it is valid until the next Run. Releasing it is optional.
func (p *Patcher) Run(x *Tensor, box Box, want ...string) (*Activations, error) {
	if p.last != nil {
		p.last.vals = nil // its buffers are about to be reused
	}
	p.s.reset()
	a, _, err := p.m.runPatched(p.base, p.s, x, box, want)
	p.last = a
	return a, err
}

// RunPatched is a one-off incremental pass: NewPatcher(base) and Run(x,
// box, want...), drawing its buffers from the model's pool like Run (call
// Release on the result to return them). The result shares base's
// unchanged tensors, so base must not be released before it.
func (m *Model) RunPatched(base *Activations, x *Tensor, box Box, want ...string) (*Activations, error) {
	if _, err := m.NewPatcher(base); err != nil {
		return nil, err
	}
	s := m.getScratch()
	a, _, err := m.runPatched(base, s, x, box, want)
	if err != nil {
		m.putScratch(s)
		return nil, err
	}
	a.s = s
	return a, nil
}

// runPatched is an incremental pass in buffers from s (base already
// checked); it also returns the run's state for tests.
func (m *Model) runPatched(base *Activations, s *Scratch, x *Tensor, box Box, want []string) (*Activations, *patchRun, error) {
	if base.vals == nil {
		return nil, nil, fmt.Errorf("incremental pass needs the activations of an unreleased forward pass")
	}
	p := m.rfPlan()
	in := m.Inputs[0]
	inSlot := m.index[in.Name]
	b0 := base.vals[inSlot]
	if err := m.checkInput(0, x); err != nil {
		return nil, nil, err
	}
	if !SameShape(x.Shape, b0.Shape) {
		return nil, nil, fmt.Errorf("input %q has shape %s, the base pass had %s", in.Name, ShapeString(x.Shape), ShapeString(b0.Shape))
	}
	h, w := x.Shape[2], x.Shape[3]
	box = box.Intersect(Box{0, 0, h, w})
	if y, xx, ok := outsideDiff(x, b0, box); !ok {
		return nil, nil, fmt.Errorf("input differs from the base pass at row %d, column %d, outside the patched %v", y, xx, box)
	}
	needed, err := m.neededSlots(want)
	if err != nil {
		return nil, nil, err
	}

	r := &patchRun{m: m, p: p, s: s, base: base.vals, vals: make([]patchVal, len(m.values))}
	if !box.Empty() {
		r.vals[inSlot] = patchVal{changed: true, box: box, t: x, whole: true}
	}
	for i, n := range m.nodes {
		use := false
		for _, o := range n.outputs {
			use = use || (o >= 0 && (needed == nil || needed[o]))
		}
		if !use {
			continue
		}
		if err := r.node(i, n); err != nil {
			return nil, nil, err
		}
	}

	vals := make([]*Tensor, len(m.values))
	for slot := range vals {
		v := &r.vals[slot]
		switch {
		case needed != nil && !m.wanted(slot, want) && m.consts[slot] == nil && !m.isInput(slot):
			// Not asked for: an intermediate window is not pasted.
		case v.changed:
			vals[slot] = r.whole(slot)
		default:
			vals[slot] = base.vals[slot]
		}
	}
	vals[inSlot] = x
	return &Activations{m: m, vals: vals}, r, nil
}

// isInput reports whether slot is a graph input.
func (m *Model) isInput(slot int) bool {
	for _, l := range m.Inputs {
		if m.index[l.Name] == slot {
			return true
		}
	}
	return false
}

// wanted reports whether slot is one of the named layers.
func (m *Model) wanted(slot int, want []string) bool {
	for _, name := range want {
		if m.index[name] == slot {
			return true
		}
	}
	return false
}

// outsideDiff reports whether x equals b bit for bit everywhere outside
// box (on every batch item and channel), and if not the first differing
// position.
func outsideDiff(x, b *Tensor, box Box) (y, xx int, ok bool) {
	if len(x.Data) > 0 && &x.Data[0] == &b.Data[0] {
		return 0, 0, true
	}
	h, w := x.Shape[2], x.Shape[3]
	same := func(p, y, lo, hi int) bool {
		o := (p*h + y) * w
		return lo >= hi || bytes.Equal(floatBytes(x.Data[o+lo:o+hi]), floatBytes(b.Data[o+lo:o+hi]))
	}
	for p := range x.Shape[0] * x.Shape[1] {
		for y := range h {
			if y < box.Y0 || y >= box.Y1 {
				if !same(p, y, 0, w) {
					return y, firstDiff(x, b, p, y, 0, w), false
				}
				continue
			}
			if !same(p, y, 0, box.X0) {
				return y, firstDiff(x, b, p, y, 0, box.X0), false
			}
			if !same(p, y, box.X1, w) {
				return y, firstDiff(x, b, p, y, box.X1, w), false
			}
		}
	}
	return 0, 0, true
}

// firstDiff returns the first column in [lo, hi) of row y of plane p where
// x and b differ bit for bit.
func firstDiff(x, b *Tensor, p, y, lo, hi int) int {
	o := (p*x.Shape[2] + y) * x.Shape[3]
	for i := lo; i < hi; i++ {
		if math.Float32bits(x.Data[o+i]) != math.Float32bits(b.Data[o+i]) {
			return i
		}
	}
	return lo
}

// floatBytes views v's memory as bytes.
func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// neededSlots marks the slots the wanted layers depend on (nil: all).
func (m *Model) neededSlots(want []string) ([]bool, error) {
	if len(want) == 0 {
		return nil, nil
	}
	needed := make([]bool, len(m.values))
	for _, name := range want {
		slot, ok := m.index[name]
		if !ok {
			_, err := m.Layer(name)
			return nil, err
		}
		needed[slot] = true
	}
	for i := len(m.nodes) - 1; i >= 0; i-- {
		n := m.nodes[i]
		use := false
		for _, o := range n.outputs {
			use = use || (o >= 0 && needed[o])
		}
		if use {
			for _, in := range n.inputs {
				if in >= 0 {
					needed[in] = true
				}
			}
		}
	}
	return needed, nil
}

// node computes node i's outputs: unchanged when no input changed, over the
// changed window for local ops, else in full.
func (r *patchRun) node(i int, n *node) error {
	changed := false
	for _, in := range n.inputs {
		changed = changed || (in >= 0 && r.vals[in].changed)
	}
	if !changed || n.op == "Shape" {
		return nil // the outputs equal base's
	}
	out, ok := r.localOutput(n)
	if ok {
		oshape := r.p.shapes[out]
		ob, reached := r.footprint(i, out)
		if !reached {
			return nil
		}
		if ob != (Box{0, 0, oshape[2], oshape[3]}) {
			t, done, err := r.windowed(n, ob)
			if err != nil {
				return err
			}
			if done {
				r.nWindowed++
				r.vals[out] = patchVal{changed: true, box: ob, t: t}
				return nil
			}
		}
	}
	return r.full(n)
}

// localOutput returns node n's only output slot when n is an op that can be
// computed over a window and its output is a 4-d float map.
func (r *patchRun) localOutput(n *node) (int, bool) {
	if len(n.outputs) == 0 || n.outputs[0] < 0 {
		return 0, false
	}
	for _, o := range n.outputs[1:] {
		if o >= 0 {
			return 0, false
		}
	}
	shape := r.p.shapes[n.outputs[0]]
	if len(shape) != 4 {
		return 0, false
	}
	switch n.op {
	case "Conv", "MaxPool", "AveragePool", "Concat", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh",
		"HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div", "Sum", "BatchNormalization", "LRN",
		"Identity", "Dropout":
		return n.outputs[0], true
	}
	return 0, false
}

// footprint returns the box of output slot out of node i that the changed
// inputs reach, from the receptive-field edges; reached false when they
// reach none of it.
func (r *patchRun) footprint(i, out int) (Box, bool) {
	shape := r.p.shapes[out]
	whole := Box{0, 0, shape[2], shape[3]}
	var ob Box
	reached := false
	for _, e := range r.p.edges[i] {
		v := r.vals[e.in]
		if e.out != out || !v.changed {
			continue
		}
		if e.full || len(e.axes) != 2 || len(r.p.shapes[e.in]) != 4 {
			return whole, true
		}
		y0, y1 := footAxis(e.axes[0], v.box.Y0, v.box.Y1, shape[2])
		x0, x1 := footAxis(e.axes[1], v.box.X0, v.box.X1, shape[3])
		b := Box{y0, x0, y1, x1}
		if b.Empty() {
			continue
		}
		if !reached {
			ob, reached = b, true
		} else {
			ob = Box{min(ob.Y0, b.Y0), min(ob.X0, b.X0), max(ob.Y1, b.Y1), max(ob.X1, b.X1)}
		}
	}
	// A changed input without an edge (a parameter computed from the
	// input, say) is read everywhere.
	for _, in := range r.m.nodes[i].inputs {
		if in >= 0 && r.vals[in].changed && !r.hasEdge(i, in, out) {
			return whole, true
		}
	}
	return ob, reached
}

func (r *patchRun) hasEdge(i, in, out int) bool {
	for _, e := range r.p.edges[i] {
		if e.in == in && e.out == out {
			return true
		}
	}
	return false
}

// footAxis returns the output positions [lo, hi) along one axis that read
// an input position in [a, b).
func footAxis(ax rfAxis, a, b, n int) (lo, hi int) {
	if a >= b {
		return 0, 0
	}
	if ax.full {
		return 0, n
	}
	lo, hi = n, 0
	for o, deps := range ax.deps {
		for _, d := range deps {
			if d >= a && d < b {
				lo, hi = min(lo, o), max(hi, o+1)
				break
			}
		}
	}
	if lo >= hi {
		return 0, 0
	}
	return lo, hi
}

// full computes node n on whole inputs.
func (r *patchRun) full(n *node) error {
	r.nFull++
	in := make([]*Tensor, len(n.inputs))
	for j, slot := range n.inputs {
		if slot >= 0 {
			in[j] = r.whole(slot)
		}
	}
	outs, err := runNode(r.s, n, in)
	if err != nil {
		return err
	}
	for j, slot := range n.outputs {
		if slot < 0 || j >= len(outs) {
			continue
		}
		v := patchVal{changed: true, t: outs[j], whole: true}
		if shape := outs[j].Shape; len(shape) == 4 {
			v.box = Box{0, 0, shape[2], shape[3]}
		}
		r.vals[slot] = v
	}
	return nil
}

// whole returns slot's whole new value, pasting a window over a copy of the
// base value (once: the slot keeps it).
func (r *patchRun) whole(slot int) *Tensor {
	v := &r.vals[slot]
	if !v.changed {
		return r.base[slot]
	}
	if v.whole {
		return v.t
	}
	b := r.base[slot]
	t := r.s.TensorNoZero(b.Shape...)
	copy(t.Data, b.Data)
	pasteWindow(t, v.t, v.box)
	v.t, v.whole = t, true
	return t
}

// pasteWindow writes win ([N, C, box.Dy(), box.Dx()]) into dst over box.
func pasteWindow(dst, win *Tensor, box Box) {
	h, w := dst.Shape[2], dst.Shape[3]
	bh, bw := box.Dy(), box.Dx()
	planes := dst.Shape[0] * dst.Shape[1]
	for pl := range planes {
		for y := range bh {
			d := dst.Data[(pl*h+box.Y0+y)*w+box.X0:]
			copy(d[:bw], win.Data[(pl*bh+y)*bw:(pl*bh+y+1)*bw])
		}
	}
}

// crop returns the values of slot over region c (inside its map), new
// where changed and base's elsewhere.
func (r *patchRun) crop(slot int, c Box) *Tensor {
	v := &r.vals[slot]
	if v.changed && !v.whole && v.box == c {
		return v.t
	}
	src := r.base[slot]
	if v.changed && v.whole {
		src = v.t
	}
	h, w := src.Shape[2], src.Shape[3]
	if c == (Box{0, 0, h, w}) {
		return r.whole(slot)
	}
	ch, cw := c.Dy(), c.Dx()
	n, nc := src.Shape[0], src.Shape[1]
	t := r.s.TensorNoZero(n, nc, ch, cw)
	for pl := range n * nc {
		for y := range ch {
			s := src.Data[(pl*h+c.Y0+y)*w+c.X0:]
			copy(t.Data[(pl*ch+y)*cw:(pl*ch+y+1)*cw], s[:cw])
		}
	}
	if v.changed && !v.whole {
		if o := c.Intersect(v.box); !o.Empty() {
			bh, bw := v.box.Dy(), v.box.Dx()
			for pl := range n * nc {
				for y := o.Y0; y < o.Y1; y++ {
					s := v.t.Data[(pl*bh+y-v.box.Y0)*bw+o.X0-v.box.X0:]
					d := t.Data[(pl*ch+y-c.Y0)*cw+o.X0-c.X0:]
					copy(d[:o.Dx()], s[:o.Dx()])
				}
			}
		}
	}
	return t
}

// windowed computes node n's output over window ob only. done false: the
// op's inputs do not allow it (the caller computes it in full).
func (r *patchRun) windowed(n *node, ob Box) (t *Tensor, done bool, err error) {
	var k kernel
	in := make([]*Tensor, len(n.inputs))
	oshape := r.p.shapes[n.outputs[0]]
	oh, ow := oshape[2], oshape[3]
	switch n.op {
	case "Conv", "MaxPool", "AveragePool":
		for j, slot := range n.inputs[1:] {
			if slot >= 0 && r.vals[slot].changed {
				return nil, false, nil // weights computed from the input
			}
			if slot >= 0 {
				in[j+1] = r.base[slot]
			}
		}
		var c Box
		k, c, done = r.windowKernel(n, ob)
		if !done {
			return nil, false, nil
		}
		in[0] = r.crop(n.inputs[0], c)
	case "Concat":
		ck, ok := n.k.(*concatKernel)
		if axis, valid := shapeAxis(ck.axis, 4); !ok || !valid || axis != 1 {
			return nil, false, nil
		}
		for j, slot := range n.inputs {
			if slot < 0 || !r.isMap(slot, oh, ow) {
				return nil, false, nil
			}
			in[j] = r.crop(slot, ob)
		}
		k = n.k
	case "BatchNormalization", "LRN", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
		"Identity", "Dropout":
		// Pointwise in space; parameters are per channel.
		if !r.isMap(n.inputs[0], oh, ow) {
			return nil, false, nil
		}
		for j, slot := range n.inputs[1:] {
			if slot >= 0 && r.vals[slot].changed {
				return nil, false, nil
			}
			if slot >= 0 {
				in[j+1] = r.base[slot]
			}
		}
		in[0] = r.crop(n.inputs[0], ob)
		k = n.k
	default: // Add, Sub, Mul, Div, Sum, PRelu, Clip: numpy broadcasting
		if bk, ok := n.k.(*binaryKernel); ok && bk.legacy {
			for _, slot := range n.inputs {
				if slot < 0 || !r.isMap(slot, oh, ow) {
					return nil, false, nil
				}
			}
		}
		for j, slot := range n.inputs {
			if slot < 0 {
				continue
			}
			switch {
			case r.isMap(slot, oh, ow):
				in[j] = r.crop(slot, ob)
			case !r.vals[slot].changed && spatiallyConstant(r.base[slot].Shape):
				in[j] = r.base[slot]
			default:
				return nil, false, nil
			}
		}
		k = n.k
	}
	outs, err := runNode(r.s, &node{name: n.name, op: n.op, inputs: n.inputs, outputs: n.outputs, k: k}, in)
	if err != nil {
		return nil, false, err
	}
	t = outs[0]
	if want := r.p.shapes[n.outputs[0]]; t.Rank() != 4 || t.Shape[1] != want[1] || t.Shape[2] != ob.Dy() || t.Shape[3] != ob.Dx() {
		return nil, false, fmt.Errorf("%s node %q: window %v gave shape %s, want %dx%d positions", n.op, n.name, ob, ShapeString(t.Shape), ob.Dy(), ob.Dx())
	}
	return t, true, nil
}

// isMap reports whether slot holds a 4-d float map of h x w positions.
func (r *patchRun) isMap(slot, h, w int) bool {
	b := r.base[slot]
	return b != nil && b.DType == Float32 && b.Rank() == 4 && b.Shape[2] == h && b.Shape[3] == w
}

// spatiallyConstant reports whether a tensor of the given shape broadcasts
// along both spatial axes of a 4-d map (numpy rules: its last two
// dimensions, where present, are 1).
func spatiallyConstant(shape []int) bool {
	for i := max(0, len(shape)-2); i < len(shape); i++ {
		if shape[i] != 1 {
			return false
		}
	}
	return true
}

// windowKernel returns a copy of the Conv or pooling node n's kernel that
// computes output window ob from crop c of its input: the crop spans the
// input rows and columns the window reads, and the copy pads a side only
// where the window reads past the true border of the map (the op's own
// padding there), so interior crop edges read real neighbours.
func (r *patchRun) windowKernel(n *node, ob Box) (k kernel, c Box, ok bool) {
	xs := r.base[n.inputs[0]]
	if p := r.p.shapes[n.inputs[0]]; len(p) != 4 || !r.isMap(n.inputs[0], p[2], p[3]) {
		return nil, c, false
	}
	var ax [2]poolAxis // stride, kernel, dilation, pads per spatial axis
	ceil := false
	switch pk := n.k.(type) {
	case *convKernel:
		in := make([]*Tensor, len(n.inputs))
		for j, slot := range n.inputs {
			if slot >= 0 {
				in[j] = r.base[slot]
			}
		}
		g, err := pk.shape(in)
		if err != nil || g.r != 2 {
			return nil, c, false
		}
		for a := range 2 {
			s := maxSpatial - 2 + a
			ax[a] = poolAxis{in: g.win.img[s], out: g.win.grid[s], k: g.win.k[s], s: g.win.stride[s], d: g.win.dil[s], pb: g.win.pad[s]}
			ax[a].pe = 1 << 30 // zero padding: never past what the last window reads
		}
	case *maxPool, *averagePool:
		var attrs *poolAttrs
		var ni *nodeInfo
		switch pk := pk.(type) {
		case *maxPool:
			if pk.indices {
				return nil, c, false
			}
			attrs, ni = &pk.a, pk.n
		case *averagePool:
			attrs, ni = &pk.a, pk.n
		}
		if len(attrs.kernel) != 2 {
			return nil, c, false
		}
		g, _, err := attrs.geom(ni, xs, false)
		if err != nil {
			return nil, c, false
		}
		ax[0], ax[1] = g.ax[maxPoolRank-2], g.ax[maxPoolRank-1]
		ceil = attrs.ceil
	default:
		return nil, c, false
	}
	var pb, pe, lo, hi [2]int
	useCeil := false
	for a, o := range [2][2]int{{ob.Y0, ob.Y1}, {ob.X0, ob.X1}} {
		x := ax[a]
		ext := (x.k-1)*x.d + 1
		first := o[0]*x.s - x.pb              // first input position read
		last := (o[1]-1)*x.s - x.pb + ext - 1 // last one
		lo[a], pb[a] = max(0, first), max(0, -first)
		switch {
		case last < x.in:
			hi[a] = last + 1
		case last < x.in+x.pe:
			hi[a], pe[a] = x.in, last-x.in+1
		default: // a ceil-mode window past the padded end: as the op does it
			hi[a], pe[a], useCeil = x.in, x.pe, true
		}
	}
	c = Box{lo[0], lo[1], hi[0], hi[1]}
	pads := []int{pb[0], pb[1], pe[0], pe[1]}
	switch pk := n.k.(type) {
	case *convKernel:
		kc := *pk
		kc.autoPad, kc.pads = "NOTSET", pads
		return &kc, c, true
	case *maxPool:
		kc := *pk
		kc.a.autoPad, kc.a.pads, kc.a.ceil = "NOTSET", pads, ceil && useCeil
		return &kc, c, true
	case *averagePool:
		kc := *pk
		kc.a.autoPad, kc.a.pads, kc.a.ceil = "NOTSET", pads, ceil && useCeil
		return &kc, c, true
	}
	return nil, c, false
}
