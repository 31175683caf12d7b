package model

import "fmt"

// Shape and data-movement ops that do no arithmetic: Flatten, Reshape,
// Squeeze, Unsqueeze, Transpose, Shape, Identity, Dropout (inference),
// Constant and Cast. Ops whose output holds the input's elements in the same
// order (Identity, Dropout, Reshape, Flatten, Squeeze, Unsqueeze) return a new
// header sharing the input's Data/Ints: the executor never writes into a
// tensor once produced. Their backward passes copy the output gradient into
// a fresh buffer so gradients never alias each other.

func init() {
	register("Flatten", newFlatten)
	register("Reshape", newReshape)
	register("Squeeze", newSqueeze)
	register("Unsqueeze", newUnsqueeze)
	register("Transpose", newTranspose)
	register("Shape", newShape)
	register("Identity", newIdentity)
	register("Dropout", newDropout)
	register("Constant", newConstant)
	register("Cast", newCast)
}

// ---- helpers shared by the shape-op files (shapeops, concat, gather, pad) ----

// shapeAxis maps axis in [-rank, rank) to [0, rank); ok is false when out of range.
func shapeAxis(axis, rank int) (int, bool) {
	if axis < 0 {
		axis += rank
	}
	return axis, axis >= 0 && axis < rank
}

// shapeAxes normalizes a list of axes against rank and rejects duplicates.
func shapeAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		b, ok := shapeAxis(a, rank)
		if !ok {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, rank)
		}
		if seen[b] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[b] = true
		out[i] = b
	}
	return out, nil
}

// shapeInts returns the values of an int64 tensor as ints.
func shapeInts(t *Tensor) ([]int, error) {
	if t.DType != Int64 {
		return nil, fmt.Errorf("want an int64 tensor, got %v", t)
	}
	out := make([]int, len(t.Ints))
	for i, v := range t.Ints {
		out[i] = int(v)
	}
	return out, nil
}

// shapeAlloc returns an uninitialized tensor of dtype dt (float32 from the
// Scratch, int64 from the heap: int64 tensors are small shape/index data).
func shapeAlloc(s *Scratch, dt DType, shape []int) *Tensor {
	if dt == Int64 {
		checkAlloc(NumElements(shape))
		return &Tensor{Shape: append([]int(nil), shape...), DType: Int64, Ints: make([]int64, NumElements(shape))}
	}
	return s.TensorNoZero(shape...)
}

// shapeView returns a header for t's elements with a new shape (no copy).
func shapeView(t *Tensor, shape []int) *Tensor {
	return &Tensor{Shape: shape, DType: t.DType, Data: t.Data, Ints: t.Ints}
}

// shapeGrad copies the gradient g into a new Scratch tensor of the given
// shape (same element count), or returns zeros when g is nil.
func shapeGrad(s *Scratch, g *Tensor, shape []int) *Tensor {
	if g == nil {
		return s.Tensor(shape...)
	}
	out := s.TensorNoZero(shape...)
	copy(out.Data, g.Data)
	return out
}

// viewBackward is the backward of every op whose output is its first input's
// elements in the same order: g_in = reshape(g_out, shape(in)). Other inputs
// (shapes, axes, ratios) get zero gradients when asked for.
func viewBackward(s *Scratch, in, gout []*Tensor, need []bool) []*Tensor {
	g := make([]*Tensor, len(in))
	for i := range in {
		if !need[i] || in[i] == nil || in[i].DType != Float32 {
			continue
		}
		if i == 0 {
			g[i] = shapeGrad(s, gout[0], in[0].Shape)
		} else {
			g[i] = s.Tensor(in[i].Shape...)
		}
	}
	return g
}

// zeroGrads returns zero gradients for the needed float inputs of an op
// whose outputs do not depend differentiably on its inputs.
func zeroGrads(s *Scratch, in []*Tensor, need []bool) []*Tensor {
	g := make([]*Tensor, len(in))
	for i := range in {
		if need[i] && in[i] != nil && in[i].DType == Float32 {
			g[i] = s.Tensor(in[i].Shape...)
		}
	}
	return g
}

// ---- Flatten ----

// flattenKernel reshapes x to 2-D: y = reshape(x, [d0*...*d(axis-1),
// d(axis)*...*d(r-1)]). The gradient is reshaped back.
type flattenKernel struct {
	n    *nodeInfo
	axis int
}

func newFlatten(n *nodeInfo) (kernel, error) {
	return &flattenKernel{n: n, axis: n.Attrs.Int("axis", 1)}, nil
}

func (k *flattenKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	r := x.Rank()
	axis := k.axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis > r {
		return nil, k.n.errorf("axis %d out of range for input of rank %d", k.axis, r)
	}
	outer := NumElements(x.Shape[:axis])
	return []*Tensor{shapeView(x, []int{outer, NumElements(x.Shape[axis:])})}, nil
}

func (k *flattenKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return viewBackward(s, in, gout, need), nil
}

// ---- Reshape ----

// reshapeKernel gives x the shape in its second input: y = reshape(x, shape),
// where a 0 entry copies x's dimension at that index (unless allowzero=1,
// then it is a real 0) and one -1 entry is inferred from the element count.
type reshapeKernel struct {
	n         *nodeInfo
	allowzero bool
}

func newReshape(n *nodeInfo) (kernel, error) {
	if n.Inputs < 2 {
		return nil, n.errorf("needs a shape input (opset %d)", n.Opset)
	}
	k := &reshapeKernel{n: n, allowzero: n.Attrs.Int("allowzero", 0) != 0}
	if sh := n.constInput(1); sh != nil && sh.DType != Int64 {
		return nil, n.errorf("shape input must be int64, got %v", sh)
	}
	return k, nil
}

// reshapeTarget resolves the requested shape for an input of shape dims.
func (k *reshapeKernel) reshapeTarget(dims []int, shape *Tensor) ([]int, error) {
	want, err := shapeInts(shape)
	if err != nil {
		return nil, k.n.errorf("shape input: %v", err)
	}
	if shape.Rank() > 1 {
		return nil, k.n.errorf("shape input must be 1-D, got %v", shape)
	}
	out := make([]int, len(want))
	infer, known := -1, 1
	hasZero := false
	for i, d := range want {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, k.n.errorf("shape %v has more than one -1", want)
			}
			infer = i
			continue
		case d == 0 && !k.allowzero:
			if i >= len(dims) {
				return nil, k.n.errorf("shape %v copies dimension %d (0) but the input has rank %d", want, i, len(dims))
			}
			d = dims[i]
		case d == 0:
			hasZero = true
		case d < 0:
			return nil, k.n.errorf("shape %v has invalid dimension %d", want, d)
		}
		out[i] = d
		known *= d
	}
	total := NumElements(dims)
	if infer >= 0 {
		if hasZero {
			return nil, k.n.errorf("shape %v has both 0 and -1 with allowzero=1", want)
		}
		if known == 0 || total%known != 0 {
			return nil, k.n.errorf("cannot infer -1 in shape %v for input %s", want, ShapeString(dims))
		}
		out[infer] = total / known
	}
	if NumElements(out) != total {
		return nil, k.n.errorf("cannot reshape %s (%d elements) to %v", ShapeString(dims), total, want)
	}
	return out, nil
}

func (k *reshapeKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	if len(in) < 2 || in[1] == nil {
		return nil, k.n.errorf("missing shape input")
	}
	shape, err := k.reshapeTarget(in[0].Shape, in[1])
	if err != nil {
		return nil, err
	}
	return []*Tensor{shapeView(in[0], shape)}, nil
}

func (k *reshapeKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return viewBackward(s, in, gout, need), nil
}

// ---- Squeeze / Unsqueeze ----

// squeezeKernel removes size-1 dimensions: the listed axes (attribute before
// opset 13, optional second input from 13), or all of them when none are
// given. y has x's elements; the gradient is reshaped back.
type squeezeKernel struct {
	n    *nodeInfo
	axes []int // attribute axes (opset < 13); empty means "all size-1 dims"
}

func newSqueeze(n *nodeInfo) (kernel, error) {
	k := &squeezeKernel{n: n}
	if n.Opset < 13 {
		k.axes = n.Attrs.Ints("axes", nil)
	}
	return k, nil
}

func (k *squeezeKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	axes := k.axes
	if k.n.Opset >= 13 && len(in) > 1 && in[1] != nil {
		var err error
		if axes, err = shapeInts(in[1]); err != nil {
			return nil, k.n.errorf("axes input: %v", err)
		}
	}
	drop := make([]bool, x.Rank())
	if len(axes) == 0 {
		for i, d := range x.Shape {
			drop[i] = d == 1
		}
	} else {
		norm, err := shapeAxes(axes, x.Rank())
		if err != nil {
			return nil, k.n.errorf("axes %v: %v", axes, err)
		}
		for _, a := range norm {
			if x.Shape[a] != 1 {
				return nil, k.n.errorf("cannot squeeze axis %d of size %d (input %s)", a, x.Shape[a], ShapeString(x.Shape))
			}
			drop[a] = true
		}
	}
	shape := make([]int, 0, x.Rank())
	for i, d := range x.Shape {
		if !drop[i] {
			shape = append(shape, d)
		}
	}
	return []*Tensor{shapeView(x, shape)}, nil
}

func (k *squeezeKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return viewBackward(s, in, gout, need), nil
}

// unsqueezeKernel inserts size-1 dimensions at the given axes of the output
// (attribute before opset 13, second input from 13). y has x's elements; the
// gradient is reshaped back.
type unsqueezeKernel struct {
	n    *nodeInfo
	axes []int // attribute axes (opset < 13)
}

func newUnsqueeze(n *nodeInfo) (kernel, error) {
	k := &unsqueezeKernel{n: n}
	if n.Opset < 13 {
		if !n.Attrs.Has("axes") {
			return nil, n.errorf("missing axes attribute (opset %d)", n.Opset)
		}
		k.axes = n.Attrs.Ints("axes", nil)
	} else if n.Inputs < 2 {
		return nil, n.errorf("missing axes input (opset %d)", n.Opset)
	}
	return k, nil
}

func (k *unsqueezeKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	axes := k.axes
	if k.n.Opset >= 13 {
		if len(in) < 2 || in[1] == nil {
			return nil, k.n.errorf("missing axes input")
		}
		var err error
		if axes, err = shapeInts(in[1]); err != nil {
			return nil, k.n.errorf("axes input: %v", err)
		}
	}
	r := x.Rank() + len(axes)
	norm, err := shapeAxes(axes, r)
	if err != nil {
		return nil, k.n.errorf("axes %v: %v", axes, err)
	}
	shape := make([]int, r)
	for _, a := range norm {
		shape[a] = -1 // marks an inserted axis until filled below
	}
	j := 0
	for i := range shape {
		if shape[i] == -1 {
			shape[i] = 1
		} else {
			shape[i] = x.Shape[j]
			j++
		}
	}
	return []*Tensor{shapeView(x, shape)}, nil
}

func (k *unsqueezeKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return viewBackward(s, in, gout, need), nil
}

// ---- Transpose ----

// transposeKernel permutes axes: y[i_perm[0], ..., i_perm[r-1]] = x[i_0, ...,
// i_(r-1)], i.e. y.shape[j] = x.shape[perm[j]] (perm defaults to reversing the
// axes). The gradient is g_out transposed by the inverse permutation.
type transposeKernel struct {
	n    *nodeInfo
	perm []int // nil: reverse
}

func newTranspose(n *nodeInfo) (kernel, error) {
	perm := n.Attrs.Ints("perm", nil)
	if perm != nil {
		if _, err := permInverse(perm); err != nil {
			return nil, n.errorf("perm %v: %v", perm, err)
		}
	}
	return &transposeKernel{n: n, perm: perm}, nil
}

// permInverse checks that perm is a permutation of 0..len-1 and inverts it.
func permInverse(perm []int) ([]int, error) {
	inv := make([]int, len(perm))
	for i := range inv {
		inv[i] = -1
	}
	for j, p := range perm {
		if p < 0 || p >= len(perm) || inv[p] >= 0 {
			return nil, fmt.Errorf("not a permutation of 0..%d", len(perm)-1)
		}
		inv[p] = j
	}
	return inv, nil
}

// permFor returns the permutation for an input of rank r.
func (k *transposeKernel) permFor(r int) ([]int, error) {
	if k.perm == nil {
		p := make([]int, r)
		for i := range p {
			p[i] = r - 1 - i
		}
		return p, nil
	}
	if len(k.perm) != r {
		return nil, k.n.errorf("perm %v has %d entries for input of rank %d", k.perm, len(k.perm), r)
	}
	return k.perm, nil
}

// transposeInto writes src (shape) transposed by perm into dst.
func transposeInto[T float32 | int64](dst, src []T, shape, perm []int) {
	r := len(shape)
	if len(src) == 0 {
		return
	}
	if r == 0 {
		dst[0] = src[0]
		return
	}
	inStr := Strides(shape)
	outShape := make([]int, r)
	step := make([]int, r) // input stride of each output axis
	for j, p := range perm {
		outShape[j] = shape[p]
		step[j] = inStr[p]
	}
	idx := make([]int, r)
	last := outShape[r-1]
	lastStep := step[r-1]
	src0 := 0
	for o := 0; o < len(dst); o += last {
		row := dst[o : o+last]
		for i, off := 0, src0; i < len(row); i, off = i+1, off+lastStep {
			row[i] = src[off]
		}
		// advance the odometer over the outer output axes
		for a := r - 2; a >= 0; a-- {
			idx[a]++
			src0 += step[a]
			if idx[a] < outShape[a] {
				break
			}
			src0 -= idx[a] * step[a]
			idx[a] = 0
		}
	}
}

func (k *transposeKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	perm, err := k.permFor(x.Rank())
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(perm))
	for j, p := range perm {
		shape[j] = x.Shape[p]
	}
	y := shapeAlloc(s, x.DType, shape)
	if x.DType == Int64 {
		transposeInto(y.Ints, x.Ints, x.Shape, perm)
	} else {
		transposeInto(y.Data, x.Data, x.Shape, perm)
	}
	return []*Tensor{y}, nil
}

func (k *transposeKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	g := make([]*Tensor, len(in))
	if !need[0] || in[0].DType != Float32 {
		return g, nil
	}
	if gout[0] == nil {
		g[0] = s.Tensor(in[0].Shape...)
		return g, nil
	}
	perm, err := k.permFor(in[0].Rank())
	if err != nil {
		return nil, err
	}
	inv, _ := permInverse(perm)
	g[0] = s.TensorNoZero(in[0].Shape...)
	transposeInto(g[0].Data, gout[0].Data, gout[0].Shape, inv)
	return g, nil
}

// ---- Shape ----

// shapeKernel returns x's dimensions as a 1-D int64 tensor, sliced to
// [start, end) from opset 15 (negative values count from the back, both are
// clamped to [0, rank]). It has no gradient.
type shapeKernel struct {
	n          *nodeInfo
	start, end int
	hasEnd     bool
}

func newShape(n *nodeInfo) (kernel, error) {
	k := &shapeKernel{n: n}
	if n.Opset >= 15 {
		k.start = n.Attrs.Int("start", 0)
		k.end = n.Attrs.Int("end", 0)
		k.hasEnd = n.Attrs.Has("end")
	}
	return k, nil
}

func (k *shapeKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	r := in[0].Rank()
	clampDim := func(v int) int {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start, end := clampDim(k.start), r
	if k.hasEnd {
		end = clampDim(k.end)
	}
	end = max(end, start)
	y := &Tensor{Shape: []int{end - start}, DType: Int64, Ints: make([]int64, end-start)}
	for i := range y.Ints {
		y.Ints[i] = int64(in[0].Shape[start+i])
	}
	return []*Tensor{y}, nil
}

func (k *shapeKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return zeroGrads(s, in, need), nil
}

// ---- Identity ----

// identityKernel is y = x; g_in = g_out.
type identityKernel struct{}

func newIdentity(n *nodeInfo) (kernel, error) { return identityKernel{}, nil }

func (identityKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{shapeView(in[0], in[0].Shape)}, nil
}

func (identityKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return viewBackward(s, in, gout, need), nil
}

// ---- Dropout ----

// dropoutKernel is inference-mode dropout: y = x, g_in = g_out. The optional
// mask output is all true: float32 ones before opset 10 (where the mask has
// the input's type), int64 ones from opset 10 (the engine has no bool
// dtype, so a bool mask is represented as int64 1s). Training mode with a
// non-zero ratio (opset 12 training_mode input) is rejected.
type dropoutKernel struct {
	n *nodeInfo
}

func newDropout(n *nodeInfo) (kernel, error) {
	return &dropoutKernel{n: n}, nil
}

// truthy reports whether a scalar tensor holds a non-zero value.
func truthy(t *Tensor) bool {
	return t != nil && t.Len() > 0 && t.Float(0) != 0
}

func (k *dropoutKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	if len(in) > 2 && truthy(in[2]) {
		ratio := 0.5
		if in[1] != nil && in[1].Len() > 0 {
			ratio = in[1].Float(0)
		}
		if ratio != 0 {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedOp, k.n.errorf("training mode (random dropout, ratio %g) is not supported by this inference engine", ratio))
		}
	}
	outs := []*Tensor{shapeView(x, x.Shape)}
	if k.n.Outputs > 1 {
		var mask *Tensor
		if k.n.Opset < 10 && x.DType == Float32 {
			mask = s.TensorNoZero(x.Shape...)
			for i := range mask.Data {
				mask.Data[i] = 1
			}
		} else {
			mask = shapeAlloc(s, Int64, x.Shape)
			for i := range mask.Ints {
				mask.Ints[i] = 1
			}
		}
		outs = append(outs, mask)
	}
	return outs, nil
}

func (k *dropoutKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return viewBackward(s, in, gout, need), nil
}

// ---- Constant ----

// constantKernel outputs the tensor held in its attributes (value, or
// value_float/value_floats/value_int/value_ints). It has no inputs; the
// executor folds it at load time.
type constantKernel struct {
	value *Tensor
}

func newConstant(n *nodeInfo) (kernel, error) {
	a := n.Attrs
	var v *Tensor
	set := 0
	if a.Has("value") {
		set++
		if v = a.Tensor("value"); v == nil {
			return nil, n.errorf("value attribute is not a float32 or int64 tensor")
		}
		v = v.Clone()
	}
	if a.Has("value_float") {
		set++
		v = FromData([]float32{a.Float("value_float", 0)})
	}
	if a.Has("value_floats") {
		set++
		f := append([]float32(nil), a.Floats("value_floats", nil)...)
		v = FromData(f, len(f))
	}
	if a.Has("value_int") {
		set++
		v = FromInts([]int64{int64(a.Int("value_int", 0))})
	}
	if a.Has("value_ints") {
		set++
		is := a.Ints("value_ints", nil)
		v = &Tensor{Shape: []int{len(is)}, DType: Int64, Ints: make([]int64, len(is))}
		for i, x := range is {
			v.Ints[i] = int64(x)
		}
	}
	for _, unsupported := range []string{"sparse_value", "value_string", "value_strings"} {
		if a.Has(unsupported) {
			return nil, n.errorf("attribute %s is not supported (only float32/int64 values)", unsupported)
		}
	}
	if set != 1 {
		return nil, n.errorf("needs exactly one of value, value_float, value_floats, value_int, value_ints (got %d)", set)
	}
	return &constantKernel{value: v}, nil
}

// forward returns a copy of the value so callers can never alter the kernel.
func (k *constantKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{k.value.Clone()}, nil
}

func (k *constantKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return make([]*Tensor, len(in)), nil
}

// ---- Cast ----

// castKernel converts between the engine's dtypes: y = T(x). The target is
// an ONNX data type held the way the loader holds it: FLOAT and DOUBLE as
// float32 (exact), integer types and BOOL as int64. Floats become integers by
// truncation toward zero, then wrap to the target's width like numpy's
// astype (BOOL: x != 0). FLOAT16/BFLOAT16 targets (whose rounding differs
// between opsets) and strings are rejected with ErrUnsupportedDType. A cast
// to a float type passes the gradient through; casts to integers have none.
type castKernel struct {
	n    *nodeInfo
	onnx int   // ONNX TensorProto data type of the output
	to   DType // engine dtype of the output
}

func newCast(n *nodeInfo) (kernel, error) {
	if !n.Attrs.Has("to") {
		return nil, n.errorf("missing to attribute")
	}
	k := &castKernel{n: n, onnx: n.Attrs.Int("to", 0)}
	switch k.onnx { // ONNX TensorProto data types (tensorproto.go)
	case onnxFloat, onnxDouble:
		k.to = Float32
	case onnxInt64, onnxInt32, onnxInt16, onnxInt8, onnxUint64, onnxUint32, onnxUint16, onnxUint8, onnxBool:
		k.to = Int64
	default:
		return nil, fmt.Errorf("%s node %q: cast to %s: %w", n.Op, n.Name, onnxDTypeName(k.onnx), ErrUnsupportedDType)
	}
	return k, nil
}

// wrapInt converts v to the ONNX integer type to, wrapping like a C cast.
func wrapInt(v int64, to int) int64 {
	switch to {
	case onnxInt32:
		return int64(int32(v))
	case onnxInt16:
		return int64(int16(v))
	case onnxInt8:
		return int64(int8(v))
	case onnxUint32:
		return int64(uint32(v))
	case onnxUint16:
		return int64(uint16(v))
	case onnxUint8:
		return int64(uint8(v))
	case onnxBool:
		if v != 0 {
			return 1
		}
		return 0
	}
	return v
}

func (k *castKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	y := shapeAlloc(s, k.to, x.Shape)
	switch {
	case x.DType == Float32 && k.to == Float32:
		copy(y.Data, x.Data)
	case x.DType == Int64 && k.to == Int64:
		for i, v := range x.Ints {
			y.Ints[i] = wrapInt(v, k.onnx)
		}
	case x.DType == Float32 && k.onnx == onnxBool:
		for i, v := range x.Data {
			if v != 0 {
				y.Ints[i] = 1
			} else {
				y.Ints[i] = 0
			}
		}
	case x.DType == Float32:
		for i, v := range x.Data {
			y.Ints[i] = wrapInt(int64(v), k.onnx)
		}
	default:
		for i, v := range x.Ints {
			y.Data[i] = float32(v)
		}
	}
	return []*Tensor{y}, nil
}

func (k *castKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	if k.to == Float32 {
		return viewBackward(s, in, gout, need), nil
	}
	return zeroGrads(s, in, need), nil
}
