package model

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file reads the parts of an ONNX ModelProto that onnx-go's decoder does
// not hand to its backend: the opset imports, node names, graph input types
// and the initializers (whose payloads we take straight from the file bytes,
// without copying, instead of through onnx-go's per-element decoding). It
// also writes the slimmed ModelProto (no initializers, no value_info, untyped
// inputs) that onnx-go then decodes. Field numbers are those of onnx.proto3.

// ErrUnsupportedDType marks a tensor element type the engine cannot hold.
var ErrUnsupportedDType = errors.New("unsupported tensor data type")

// errTruncated is returned for malformed protobuf framing.
var errTruncated = errors.New("truncated or corrupt protobuf")

type scannedModel struct {
	opset int // default-domain opset; 0 when absent
	graph scannedGraph
	slim  []byte // the ModelProto re-encoded for onnx-go
}

type scannedGraph struct {
	nodes   []scannedNode
	inputs  []scannedValue
	outputs []string
	inits   []*scannedTensor
}

type scannedNode struct {
	name, op, domain string
	inputs, outputs  []string
}

type scannedValue struct {
	name  string
	elem  int     // ONNX TensorProto.DataType
	dims  []int64 // -1 for a symbolic or unknown dimension
	typed bool    // a tensor type with a shape was declared
	other string  // a non-tensor type (sequence, map, optional, sparse)
}

// scannedTensor is a TensorProto whose payload still points into the file.
type scannedTensor struct {
	name     string
	dtype    int
	dims     []int64
	raw      []byte
	floats   []float32
	doubles  []float64
	ints     []int64 // int64_data, or int32_data widened
	uints    []uint64
	external map[string]string // data_location == EXTERNAL
}

// fields iterates over the top-level fields of one protobuf message.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		var v []byte
		var u uint64
		switch typ {
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			u = uint64(x)
		case protowire.Fixed64Type:
			u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		if err := f(num, typ, v, u); err != nil {
			return err
		}
	}
	return nil
}

// varints appends a repeated integer field (packed or not) to dst.
func varints(dst []int64, typ protowire.Type, v []byte, u uint64) ([]int64, error) {
	if typ == protowire.VarintType {
		return append(dst, int64(u)), nil
	}
	if typ != protowire.BytesType {
		return dst, errTruncated
	}
	for len(v) > 0 {
		x, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return dst, errTruncated
		}
		dst = append(dst, int64(x))
		v = v[n:]
	}
	return dst, nil
}

func scanModel(data []byte) (*scannedModel, error) {
	m := &scannedModel{}
	var slim []byte
	sawGraph := false
	err := fields(data, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch {
		case num == 7 && typ == protowire.BytesType: // graph
			sawGraph = true
			g, slimGraph, err := scanGraph(v)
			if err != nil {
				return fmt.Errorf("graph: %w", err)
			}
			m.graph = g
			slim = protowire.AppendTag(slim, 7, protowire.BytesType)
			slim = protowire.AppendBytes(slim, slimGraph)
		case num == 8 && typ == protowire.BytesType: // opset_import
			domain, version := "", int64(0)
			if err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
				switch num {
				case 1:
					domain = string(v)
				case 2:
					version = int64(u)
				}
				return nil
			}); err != nil {
				return err
			}
			if domain == "" || domain == "ai.onnx" {
				m.opset = int(version)
			}
			slim = protowire.AppendTag(slim, 8, protowire.BytesType)
			slim = protowire.AppendBytes(slim, v)
		case num == 1 && typ == protowire.VarintType: // ir_version
			slim = protowire.AppendTag(slim, 1, protowire.VarintType)
			slim = protowire.AppendVarint(slim, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !sawGraph {
		return nil, errors.New("no graph in the file (not an ONNX model?)")
	}
	m.slim = slim
	return m, nil
}

func scanGraph(b []byte) (scannedGraph, []byte, error) {
	var g scannedGraph
	var slim []byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // node
			n, err := scanNode(v)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			g.nodes = append(g.nodes, n)
			slim = protowire.AppendTag(slim, 1, protowire.BytesType)
			slim = protowire.AppendBytes(slim, v)
		case 2: // name
			slim = protowire.AppendTag(slim, 2, protowire.BytesType)
			slim = protowire.AppendBytes(slim, v)
		case 5: // initializer
			t, err := scanTensor(v)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.inits), err)
			}
			g.inits = append(g.inits, t)
		case 15: // sparse_initializer
			return fmt.Errorf("sparse initializers: %w", ErrUnsupportedDType)
		case 11, 12: // input, output: passed on with their name only
			val, err := scanValue(v)
			if err != nil {
				return err
			}
			if num == 11 {
				g.inputs = append(g.inputs, val)
			} else {
				g.outputs = append(g.outputs, val.name)
			}
			var vi []byte
			vi = protowire.AppendTag(vi, 1, protowire.BytesType)
			vi = protowire.AppendString(vi, val.name)
			slim = protowire.AppendTag(slim, num, protowire.BytesType)
			slim = protowire.AppendBytes(slim, vi)
		}
		return nil
	})
	return g, slim, err
}

func scanNode(b []byte) (scannedNode, error) {
	var n scannedNode
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch num {
		case 1:
			n.inputs = append(n.inputs, string(v))
		case 2:
			n.outputs = append(n.outputs, string(v))
		case 3:
			n.name = string(v)
		case 4:
			n.op = string(v)
		case 7:
			n.domain = string(v)
		}
		return nil
	})
	return n, err
}

func scanValue(b []byte) (scannedValue, error) {
	var val scannedValue
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch num {
		case 1:
			val.name = string(v)
		case 2: // TypeProto
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
				switch num {
				case 4:
					val.other = "sequence"
				case 5:
					val.other = "map"
				case 8:
					val.other = "sparse tensor"
				case 9:
					val.other = "optional"
				}
				if num != 1 || typ != protowire.BytesType { // tensor_type only
					return nil
				}
				return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
					switch num {
					case 1:
						val.elem = int(u)
					case 2: // TensorShapeProto
						val.typed = true
						return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
							if num != 1 {
								return nil
							}
							d := int64(-1)
							err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
								if num == 1 && typ == protowire.VarintType {
									d = int64(u)
								}
								return nil
							})
							val.dims = append(val.dims, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return val, err
}

func scanTensor(b []byte) (*scannedTensor, error) {
	t := &scannedTensor{}
	external := false
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		var err error
		switch num {
		case 1:
			t.dims, err = varints(t.dims, typ, v, u)
		case 2:
			t.dtype = int(u)
		case 3:
			return fmt.Errorf("segmented tensors are not supported")
		case 4: // float_data, packed fixed32
			if typ == protowire.Fixed32Type {
				t.floats = append(t.floats, math.Float32frombits(uint32(u)))
				return nil
			}
			for ; len(v) >= 4; v = v[4:] {
				x, _ := protowire.ConsumeFixed32(v)
				t.floats = append(t.floats, math.Float32frombits(x))
			}
			if len(v) != 0 {
				return errTruncated
			}
		case 5, 7: // int32_data, int64_data (varints; int32 zig-zag free)
			var xs []int64
			xs, err = varints(nil, typ, v, u)
			if num == 5 {
				for i := range xs {
					xs[i] = int64(int32(xs[i]))
				}
			}
			t.ints = append(t.ints, xs...)
		case 8:
			t.name = string(v)
		case 9:
			t.raw = v
		case 10: // double_data
			if typ == protowire.Fixed64Type {
				t.doubles = append(t.doubles, math.Float64frombits(u))
				return nil
			}
			for ; len(v) >= 8; v = v[8:] {
				x, _ := protowire.ConsumeFixed64(v)
				t.doubles = append(t.doubles, math.Float64frombits(x))
			}
			if len(v) != 0 {
				return errTruncated
			}
		case 11: // uint64_data
			var xs []int64
			xs, err = varints(nil, typ, v, u)
			for _, x := range xs {
				t.uints = append(t.uints, uint64(x))
			}
		case 13: // external_data
			key, value := "", ""
			err = fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
				switch num {
				case 1:
					key = string(v)
				case 2:
					value = string(v)
				}
				return nil
			})
			if t.external == nil {
				t.external = map[string]string{}
			}
			t.external[key] = value
		case 14:
			external = u == 1
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !external {
		t.external = nil
	} else if t.external == nil {
		t.external = map[string]string{}
	}
	return t, nil
}
