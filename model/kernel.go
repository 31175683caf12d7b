package model

import (
	"fmt"
	"sort"
)

// Mode selects how ReLU-family ops (Relu, LeakyRelu, PRelu, Clip with min 0)
// propagate gradients backwards. All other ops compute their exact
// vector-Jacobian product in every mode; MaxPool always routes through its
// argmax switches.
type Mode int

const (
	// Vanilla is the true gradient: g_in = f'(x) * g_out.
	Vanilla Mode = iota
	// Guided is guided backpropagation (Springenberg et al. 2015):
	// g_in = f'(x) * max(g_out, 0).
	Guided
	// Deconvnet is the deconvolutional network rule (Zeiler & Fergus 2014):
	// g_in = max(g_out, 0), whatever the forward input was.
	Deconvnet
)

func (m Mode) String() string {
	switch m {
	case Guided:
		return "guided"
	case Deconvnet:
		return "deconvnet"
	}
	return "vanilla"
}

// ParseMode parses "vanilla", "guided" or "deconvnet" (also "deconv").
func ParseMode(s string) (Mode, error) {
	switch s {
	case "vanilla", "":
		return Vanilla, nil
	case "guided":
		return Guided, nil
	case "deconvnet", "deconv":
		return Deconvnet, nil
	}
	return 0, fmt.Errorf("unknown backward mode %q (want vanilla, guided or deconvnet)", s)
}

// kernel is one node's forward pass and its vector-Jacobian product. A kernel
// is built once at load time from the node's attributes and must be safe for
// concurrent use: all per-run memory comes from the Scratch.
type kernel interface {
	// forward computes the node's outputs. Absent optional inputs are nil.
	forward(s *Scratch, in []*Tensor) ([]*Tensor, error)
	// backward returns, for each input i with need[i] set, the gradient of the
	// target with respect to in[i] (same shape as in[i]) given the forward
	// inputs, outputs and the gradients gout of the outputs (nil where no
	// gradient reaches an output). Entries not needed may be nil.
	backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error)
}

// nodeInfo is what an op's constructor sees of its node.
type nodeInfo struct {
	Name    string // the node's name, or its first output's name when unnamed
	Op      string
	Opset   int // opset version of the default ONNX domain
	Attrs   Attrs
	Inputs  int // number of input slots (absent optional inputs included)
	Outputs int
	// Const holds the value of inputs known at load time (initializers,
	// Constant outputs and anything computed only from them); nil otherwise.
	Const []*Tensor
}

// constInput returns input i if it is known at load time and present.
func (n *nodeInfo) constInput(i int) *Tensor {
	if i < len(n.Const) {
		return n.Const[i]
	}
	return nil
}

// errorf returns an error that names the node and its op.
func (n *nodeInfo) errorf(format string, args ...any) error {
	return fmt.Errorf("%s node %q: %s", n.Op, n.Name, fmt.Sprintf(format, args...))
}

// opFactory builds a kernel for a node, validating its attributes.
type opFactory func(n *nodeInfo) (kernel, error)

var registry = map[string]opFactory{}

// register makes an ONNX op type available to the loader. Op files call it
// from init.
func register(op string, f opFactory) {
	if _, dup := registry[op]; dup {
		panic("model: op registered twice: " + op)
	}
	registry[op] = f
}

// SupportedOps lists the ONNX op types the engine implements, sorted.
func SupportedOps() []string {
	ops := make([]string, 0, len(registry))
	for op := range registry {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Attrs are a node's ONNX attributes. Values are int64, float32, string,
// []int64, []float32, []string or *Tensor.
type Attrs map[string]any

// Has reports whether the attribute is set.
func (a Attrs) Has(name string) bool { _, ok := a[name]; return ok }

// Int returns an INT attribute or def when absent.
func (a Attrs) Int(name string, def int) int {
	switch v := a[name].(type) {
	case int64:
		return int(v)
	case float32:
		return int(v)
	}
	return def
}

// Float returns a FLOAT attribute or def when absent.
func (a Attrs) Float(name string, def float32) float32 {
	switch v := a[name].(type) {
	case float32:
		return v
	case int64:
		return float32(v)
	}
	return def
}

// String returns a STRING attribute or def when absent.
func (a Attrs) String(name string, def string) string {
	if v, ok := a[name].(string); ok {
		return v
	}
	return def
}

// Ints returns an INTS attribute as []int, or def when absent.
func (a Attrs) Ints(name string, def []int) []int {
	switch v := a[name].(type) {
	case []int64:
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out
	case int64:
		return []int{int(v)}
	}
	return def
}

// Floats returns a FLOATS attribute, or def when absent.
func (a Attrs) Floats(name string, def []float32) []float32 {
	switch v := a[name].(type) {
	case []float32:
		return v
	case float32:
		return []float32{v}
	}
	return def
}

// Tensor returns a TENSOR attribute, or nil when absent.
func (a Attrs) Tensor(name string) *Tensor {
	t, _ := a[name].(*Tensor)
	return t
}
