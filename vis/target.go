package vis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/deepscope/deepscope/model"
)

// At selects which positions of a unit's channel make up a target.
type At int

const (
	// AtSum sums the channel over all its positions (the default).
	AtSum At = iota
	// AtMax takes only the channel's strongest position (the first one on
	// ties), found anew for every input.
	AtMax
	// AtPoint takes the single position (Y, X).
	AtPoint
)

// Target is the scalar every method explains: channel Unit of layer Layer,
// summed over its positions (AtSum), at its strongest position (AtMax) or at
// position (Y, X) (AtPoint), as in the Deep Visualization Toolbox. A class
// target is unit C of the logit layer: the input of a final Softmax when the
// graph ends in one, so that methods explain the logit, not the probability.
//
// Layers are [N, C, spatial...] (or [N, C]); batch items are independent
// targets, one score each.
type Target struct {
	Layer string
	Unit  int
	At    At
	Y, X  int
	// Class is set for class targets (Layer is then the logit layer).
	Class bool
}

// ClassTarget returns the target for the logit of class c.
func ClassTarget(m *model.Model, c int) (Target, error) {
	layer := LogitLayer(m)
	t := Target{Layer: layer, Unit: c, Class: true}
	if err := t.check(m); err != nil {
		return Target{}, err
	}
	return t, nil
}

// UnitTarget returns the target for channel unit of layer, at the positions
// at selects ((y, x) is used only with AtPoint).
func UnitTarget(m *model.Model, layer string, unit int, at At, y, x int) (Target, error) {
	t := Target{Layer: layer, Unit: unit, At: at, Y: y, X: x}
	if err := t.check(m); err != nil {
		return Target{}, err
	}
	return t, nil
}

// ParseAt parses a --at value: "" or "sum" (all positions), "max", or "Y,X".
func ParseAt(s string) (at At, y, x int, err error) {
	switch strings.TrimSpace(s) {
	case "", "sum":
		return AtSum, 0, 0, nil
	case "max":
		return AtMax, 0, 0, nil
	}
	ys, xs, ok := strings.Cut(s, ",")
	if ok {
		y, err1 := strconv.Atoi(strings.TrimSpace(ys))
		x, err2 := strconv.Atoi(strings.TrimSpace(xs))
		if err1 == nil && err2 == nil && y >= 0 && x >= 0 {
			return AtPoint, y, x, nil
		}
	}
	return 0, 0, 0, fmt.Errorf("--at %q: want max or Y,X (a position, e.g. 3,5)", s)
}

// LogitLayer returns the layer class targets read: the input of the
// Softmax (or LogSoftmax) the graph ends in, looking through ops that only
// reshape after it, or the graph's output itself when it has no softmax.
func LogitLayer(m *model.Model) string {
	name := m.Output()
	for range 16 {
		op, inputs, ok := m.Producer(name)
		if !ok || len(inputs) == 0 {
			break
		}
		switch op {
		case "Softmax", "LogSoftmax":
			return inputs[0]
		case "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout":
			name = inputs[0]
			continue
		}
		break
	}
	return m.Output()
}

func (t Target) String() string {
	if t.Class {
		return fmt.Sprintf("class %d", t.Unit)
	}
	s := fmt.Sprintf("%s unit %d", t.Layer, t.Unit)
	switch t.At {
	case AtMax:
		s += " at max"
	case AtPoint:
		s += fmt.Sprintf(" at %d,%d", t.Y, t.X)
	}
	return s
}

// check validates the target against the model's layer shapes.
func (t Target) check(m *model.Model) error {
	l, err := m.Layer(t.Layer)
	if err != nil {
		return err
	}
	what := "layer " + t.Layer
	if t.Class {
		what = "the logit layer " + t.Layer
	}
	if l.DType != model.Float32 || len(l.Shape) < 2 {
		return fmt.Errorf("%s is %s %s, not [N, C, ...] float32 values", what, l.DType, model.ShapeString(l.Shape))
	}
	if c := l.Shape[1]; t.Unit < 0 || t.Unit >= c {
		if t.Class {
			return fmt.Errorf("class %d is out of range: the model has %d classes (0..%d)", t.Unit, c, c-1)
		}
		return fmt.Errorf("unit %d is out of range: %s has %d channels (0..%d)", t.Unit, t.Layer, c, c-1)
	}
	if t.At == AtPoint {
		if len(l.Shape) != 4 {
			return fmt.Errorf("--at Y,X needs a layer with two spatial axes; %s is %s", t.Layer, model.ShapeString(l.Shape))
		}
		if h, w := l.Shape[2], l.Shape[3]; t.Y >= h || t.X >= w || t.Y < 0 || t.X < 0 {
			return fmt.Errorf("position %d,%d is outside %s's %dx%d positions", t.Y, t.X, t.Layer, h, w)
		}
	}
	return nil
}

// value returns the target layer's value in a, checked to be [N, C, ...]
// float32 with the target's unit in range.
func (t Target) value(a *model.Activations) (v *model.Tensor, n, c, p int, err error) {
	v, err = a.Get(t.Layer)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	if v.DType != model.Float32 || v.Rank() < 2 || t.Unit >= v.Shape[1] {
		return nil, 0, 0, 0, fmt.Errorf("target layer %s has value %v; want [N, C>%d, ...] float32", t.Layer, v, t.Unit)
	}
	n, c = v.Shape[0], v.Shape[1]
	p = model.NumElements(v.Shape[2:])
	if t.At == AtPoint && (v.Rank() != 4 || t.Y >= v.Shape[2] || t.X >= v.Shape[3]) {
		return nil, 0, 0, 0, fmt.Errorf("position %d,%d is outside target layer %s %s", t.Y, t.X, t.Layer, model.ShapeString(v.Shape))
	}
	return v, n, c, p, nil
}

// pick returns the range [lo, hi) of indexes within one batch item's
// channel plane (of a layer of the given shape) that make up the target.
func (t Target) pick(plane []float32, shape []int) (lo, hi int) {
	switch t.At {
	case AtMax:
		best := 0
		for j, x := range plane {
			if x > plane[best] || (math.IsNaN(float64(plane[best])) && !math.IsNaN(float64(x))) {
				best = j
			}
		}
		return best, best + 1
	case AtPoint:
		j := t.Y*shape[3] + t.X
		return j, j + 1
	}
	return 0, len(plane)
}

// Scores returns the target's value for each batch item of the forward
// pass a.
func (t Target) Scores(a *model.Activations) ([]float64, error) {
	v, n, c, p, err := t.value(a)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for i := range n {
		plane := v.Data[(i*c+t.Unit)*p : (i*c+t.Unit+1)*p]
		lo, hi := t.pick(plane, v.Shape)
		s := 0.0
		for _, x := range plane[lo:hi] {
			s += float64(x)
		}
		out[i] = s
	}
	return out, nil
}

// Seed returns d(sum of the batch items' scores)/d(target layer) for the
// forward pass a: ones at the positions that make up each item's target,
// zeros elsewhere. It is the seed model.Backward takes for t.Layer.
func (t Target) Seed(a *model.Activations) (*model.Tensor, error) {
	v, n, c, p, err := t.value(a)
	if err != nil {
		return nil, err
	}
	seed := model.NewTensor(v.Shape...)
	for i := range n {
		off := (i*c + t.Unit) * p
		lo, hi := t.pick(v.Data[off:off+p], v.Shape)
		for j := lo; j < hi; j++ {
			seed.Data[off+j] = 1
		}
	}
	return seed, nil
}
