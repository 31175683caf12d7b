package model

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
)

// paramInputs lists, per op type, the input positions that hold learned
// parameters when they are known at load time: weights and biases of
// convolutions and fully connected layers, the affine scale and shift of
// normalisation layers (not BatchNormalization's running mean and variance,
// which are statistics, not weights), PRelu's slopes. Constant operands of
// elementwise ops (Add, Mul, Clip bounds, an in-graph mean subtraction) are
// not parameters here.
var paramInputs = map[string][]int{
	"Conv":                  {1, 2},
	"ConvTranspose":         {1, 2},
	"Gemm":                  {1, 2},
	"MatMul":                {1},
	"BatchNormalization":    {1, 2},
	"InstanceNormalization": {1, 2},
	"LayerNormalization":    {1, 2},
	"PRelu":                 {1},
}

// params returns the value slots of node n's learned parameters (float32
// inputs known at load time at the op's parameter positions).
func (m *Model) params(n *node) []int {
	var out []int
	for _, j := range paramInputs[n.op] {
		if j >= len(n.inputs) || n.inputs[j] < 0 {
			continue
		}
		if t, ok := m.consts[n.inputs[j]]; ok && t.DType == Float32 && len(t.Data) > 0 {
			out = append(out, n.inputs[j])
		}
	}
	return out
}

// ParamLayers returns the layers whose nodes have learned parameters
// (Conv, ConvTranspose, Gemm and MatMul weights and biases, the scale and
// shift of normalisation layers, PRelu slopes), in topological order. The
// cascading randomization test of Adebayo et al. (2018) randomizes them from
// the last one down.
func (m *Model) ParamLayers() []Layer {
	var out []Layer
	for _, n := range m.nodes {
		if len(m.params(n)) == 0 || len(n.outputs) == 0 || n.outputs[0] < 0 {
			continue
		}
		if l, err := m.Layer(m.values[n.outputs[0]]); err == nil {
			out = append(out, l)
		}
	}
	return out
}

// WithRandomWeights returns a copy of m in which the learned parameters of
// the named layers (see ParamLayers) are replaced by Gaussian values of
// mean 0 and the original tensor's standard deviation, of the same shape.
// Each tensor's values depend only on seed and the tensor's name, so
// randomizing [a] and then [a, b] (a cascade) gives a the same values both
// times. m itself is not modified; the copy shares every other tensor with
// it (read-only) and is, like m, safe for concurrent use. A parameter
// tensor shared by several nodes is randomized for all of them.
func (m *Model) WithRandomWeights(layers []string, seed uint64) (*Model, error) {
	producer := map[int]int{} // output slot -> index in m.nodes
	for i, n := range m.nodes {
		for _, o := range n.outputs {
			if o >= 0 {
				producer[o] = i
			}
		}
	}
	c := &Model{Name: m.Name, Opset: m.Opset, Inputs: slices.Clone(m.Inputs), Outputs: slices.Clone(m.Outputs),
		Layers: slices.Clone(m.Layers), values: m.values, inputDims: m.inputDims, index: m.index,
		consts: maps.Clone(m.consts), nodes: slices.Clone(m.nodes), layer: m.layer,
		pool: make(chan *Scratch, scratchPool)}
	changed := map[int]bool{}
	for _, name := range layers {
		if _, err := m.Layer(name); err != nil {
			return nil, fmt.Errorf("randomize weights: %w", err)
		}
		i, ok := producer[m.index[name]]
		if !ok {
			return nil, fmt.Errorf("randomize weights: layer %q is not computed by a node at run time (a graph input or a constant)", name)
		}
		n := m.nodes[i]
		slots := m.params(n)
		if len(slots) == 0 {
			return nil, fmt.Errorf("randomize weights: layer %q (%s) has no learned parameters (layers with some: Conv, Gemm, MatMul, normalisation, PRelu)", name, n.op)
		}
		for _, s := range slots {
			if !changed[s] {
				c.consts[s] = gaussianLike(m.consts[s], seed, m.values[s])
				changed[s] = true
			}
		}
	}
	// Kernels that folded their constant inputs at load time are rebuilt
	// from the new values.
	for i, n := range c.nodes {
		bn, ok := n.k.(*batchNorm)
		if !ok || bn.ab == nil || !slices.ContainsFunc(n.inputs, func(s int) bool { return s >= 0 && changed[s] }) {
			continue
		}
		k := *bn
		k.ab = make([]float32, len(bn.ab))
		p := make([]*Tensor, 5)
		for j := 1; j < 5 && j < len(n.inputs); j++ {
			p[j] = c.consts[n.inputs[j]]
		}
		if err := k.fold(k.ab, p[1], p[2], p[3], p[4]); err != nil {
			return nil, fmt.Errorf("randomize weights: %w", err)
		}
		nn := *n
		nn.k = &k
		c.nodes[i] = &nn
	}
	return c, nil
}

// gaussianLike returns a tensor of t's shape filled with N(0, σ²) values,
// σ being the standard deviation of t's values, drawn from a generator
// seeded by seed and name.
func gaussianLike(t *Tensor, seed uint64, name string) *Tensor {
	mean := 0.0
	for _, v := range t.Data {
		mean += float64(v)
	}
	mean /= float64(len(t.Data))
	ss := 0.0
	for _, v := range t.Data {
		ss += (float64(v) - mean) * (float64(v) - mean)
	}
	sigma := math.Sqrt(ss / float64(len(t.Data)))
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	out := NewTensor(t.Shape...)
	for i := range out.Data {
		out.Data[i] = float32(sigma * rng.NormFloat64())
	}
	return out
}
