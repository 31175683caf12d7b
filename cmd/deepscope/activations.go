package main

import (
	"fmt"

	"github.com/deepscope/deepscope/model"
)

// runActivations writes one layer's output for one input as a float32 .npy
// file, without the batch dimension.
func runActivations(c *cli, args []string) error {
	fs := newFlags("activations")
	var in inputFlags
	in.register(fs)
	layer := fs.String("layer", "", "the `name` of the layer to write (see 'deepscope layers'; required)")
	out := fs.String("out", "", "the .npy `file` to write (required)")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *layer == "":
		return fmt.Errorf("activations: --layer is required")
	case *out == "":
		return fmt.Errorf("activations: --out is required")
	}
	if err := in.checkInputs("activations", images, 1); err != nil {
		return err
	}
	m, err := in.load()
	if err != nil {
		return err
	}
	if _, err := m.Layer(*layer); err != nil {
		return err
	}
	var t *model.Tensor
	err = in.each(m, images, func(_ string, x *model.Tensor) error {
		acts, err := m.Run(x)
		if err != nil {
			return err
		}
		defer acts.Release()
		v, err := acts.Get(*layer)
		if err != nil {
			return err
		}
		t = asFloat32(v)
		return nil
	})
	if err != nil {
		return err
	}
	if len(t.Shape) >= 2 && t.Shape[0] == 1 {
		t.Shape = t.Shape[1:]
	}
	if err := model.WriteNPY(*out, t); err != nil {
		return fmt.Errorf("activations: --out: %w", err)
	}
	fmt.Fprintf(c.stdout, "wrote %s: layer %s, %s float32\n", *out, *layer, shapeString(t.Shape))
	return nil
}

// asFloat32 returns a float32 copy of t (int64 values converted), owning its
// memory.
func asFloat32(t *model.Tensor) *model.Tensor {
	if t.DType == model.Float32 {
		return t.Clone()
	}
	c := model.NewTensor(t.Shape...)
	for i, v := range t.Ints {
		c.Data[i] = float32(v)
	}
	return c
}

// shapeString formats a shape as 1x3x224x224 ("scalar" for rank 0).
func shapeString(s []int) string { return model.ShapeString(s) }
