// Package demo trains the small Fashion-MNIST CNN that deepscope embeds as
// its out-of-the-box network (assets/fashion_cnn.onnx) and exports it with
// the project's own ONNX writer. Training uses gorgonia; the exported model
// runs on deepscope's engine.
package demo

import (
	"io"

	fmnist "github.com/deepscope/deepscope/model/fashion"
)

// The data set reader lives in model/fashion (the camera package reads the
// test images too); these names keep the demo's API.

// DataDir is where Debian's dataset-fashion-mnist package installs the data.
const DataDir = fmnist.DataDir

// Labels are the Fashion-MNIST class names, in class order.
var Labels = fmnist.Labels

// Dataset is a set of 8-bit grey images with their class labels.
type Dataset = fmnist.Dataset

// IDX is the content of an IDX file of unsigned bytes.
type IDX = fmnist.IDX

// Load reads the split "train" or "t10k" of an MNIST-format dataset from
// dir (see fashion.Load).
func Load(dir, split string) (*Dataset, error) { return fmnist.Load(dir, split) }

// LoadFirst is Load reading only the first n images (all when n <= 0).
func LoadFirst(dir, split string, n int) (*Dataset, error) { return fmnist.LoadFirst(dir, split, n) }

// ReadIDX reads an IDX file of unsigned bytes (see fashion.ReadIDX).
func ReadIDX(r io.Reader) (*IDX, error) { return fmnist.ReadIDX(r) }
