package model

import (
	"fmt"
	"strings"
)

// DType is the element type of a Tensor. The engine computes in float32;
// int64 tensors carry shapes and indices (Shape, Gather, Reshape, ...).
type DType uint8

// Element types a Tensor can hold.
const (
	Float32 DType = iota
	Int64
)

func (d DType) String() string {
	if d == Int64 {
		return "int64"
	}
	return "float32"
}

// Tensor is a dense row-major (C-order) array. Exactly one of Data (Float32)
// and Ints (Int64) holds the elements; a zero-element tensor may have both nil.
type Tensor struct {
	Shape []int
	DType DType
	Data  []float32
	Ints  []int64
}

// NewTensor returns a zero-filled float32 tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, NumElements(shape))}
}

// FromData wraps data (not copied) as a float32 tensor of the given shape.
func FromData(data []float32, shape ...int) *Tensor {
	if len(data) != NumElements(shape) {
		panic(fmt.Sprintf("model.FromData: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// FromInts wraps ints (not copied) as an int64 tensor of the given shape.
func FromInts(ints []int64, shape ...int) *Tensor {
	if len(ints) != NumElements(shape) {
		panic(fmt.Sprintf("model.FromInts: %d values for shape %v", len(ints), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), DType: Int64, Ints: ints}
}

// NumElements is the product of the dimensions (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Clone returns a deep copy that shares no memory with t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{Shape: append([]int(nil), t.Shape...), DType: t.DType}
	if t.Data != nil {
		c.Data = append([]float32(nil), t.Data...)
	}
	if t.Ints != nil {
		c.Ints = append([]int64(nil), t.Ints...)
	}
	return c
}

// Float returns element i as float64 whatever the dtype.
func (t *Tensor) Float(i int) float64 {
	if t.DType == Int64 {
		return float64(t.Ints[i])
	}
	return float64(t.Data[i])
}

// Strides returns the row-major element strides of shape.
func Strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// SameShape reports whether a and b have identical dimensions.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ShapeString formats a shape as 1x3x224x224 ("scalar" for rank 0).
func ShapeString(shape []int) string {
	if len(shape) == 0 {
		return "scalar"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%s[%s]", t.DType, ShapeString(t.Shape))
}
