package main

import (
	"fmt"
	"text/tabwriter"
)

// runLayers lists the graph inputs and every node output with its op type
// and shape, in topological order.
func runLayers(c *cli, args []string) error {
	fs := newFlags("layers")
	path := fs.String("model", "", modelFlagHelp+" (required)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("layers: unexpected argument %q (the model is given with --model)", rest[0])
	}
	m, err := loadModel("layers", *path)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tOP\tSHAPE")
	for _, l := range append(m.Inputs[:len(m.Inputs):len(m.Inputs)], m.Layers...) {
		shape := shapeString(l.Shape)
		if l.DType != 0 {
			shape += " " + l.DType.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Name, l.Op, shape)
	}
	return tw.Flush()
}
