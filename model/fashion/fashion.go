// Package fashion reads Fashion-MNIST (and any MNIST-format data set): the
// IDX files of Debian's dataset-fashion-mnist package, which the demo network
// is trained on (model/demo) and the explorer shows (camera's fashion-mnist
// source).
package fashion

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
)

// DataDir is where Debian's dataset-fashion-mnist package installs the data.
const DataDir = "/usr/share/datasets/fashion-mnist"

// Labels are the Fashion-MNIST class names, in class order.
var Labels = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// Dataset is a set of 8-bit grey images with their class labels.
type Dataset struct {
	Rows, Cols int
	Images     []uint8 // N x Rows x Cols, row-major
	Labels     []uint8 // N
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.Labels) }

// Image returns the pixels of image i.
func (d *Dataset) Image(i int) []uint8 {
	n := d.Rows * d.Cols
	return d.Images[i*n : (i+1)*n]
}

// Gray returns image i as an image (sharing the dataset's memory).
func (d *Dataset) Gray(i int) *image.Gray {
	return &image.Gray{Pix: d.Image(i), Stride: d.Cols, Rect: image.Rect(0, 0, d.Cols, d.Rows)}
}

// Subset returns the first n images (all when n <= 0 or n >= Len); it
// shares memory with d.
func (d *Dataset) Subset(n int) *Dataset {
	if n <= 0 || n >= d.Len() {
		return d
	}
	return &Dataset{Rows: d.Rows, Cols: d.Cols, Images: d.Images[:n*d.Rows*d.Cols], Labels: d.Labels[:n]}
}

// Load reads the split "train" or "t10k" of an MNIST-format dataset from
// dir: <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte, gzipped
// (".gz") or not.
func Load(dir, split string) (*Dataset, error) { return LoadFirst(dir, split, 0) }

// LoadFirst is Load reading only the first n images (all when n <= 0).
func LoadFirst(dir, split string, n int) (*Dataset, error) {
	images, err := readIDXFile(filepath.Join(dir, split+"-images-idx3-ubyte"), n)
	if err != nil {
		return nil, err
	}
	labels, err := readIDXFile(filepath.Join(dir, split+"-labels-idx1-ubyte"), n)
	if err != nil {
		return nil, err
	}
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("%s images: want 3 dimensions, got %v", split, images.Dims)
	}
	if len(labels.Dims) != 1 || labels.Dims[0] != images.Dims[0] {
		return nil, fmt.Errorf("%s: %d labels for %d images", split, labels.Dims[0], images.Dims[0])
	}
	for i, l := range labels.Data {
		if l >= uint8(len(Labels)) {
			return nil, fmt.Errorf("%s label %d is %d, want 0..%d", split, i, l, len(Labels)-1)
		}
	}
	return &Dataset{Rows: images.Dims[1], Cols: images.Dims[2], Images: images.Data, Labels: labels.Data}, nil
}

// IDX is the content of an IDX file of unsigned bytes.
type IDX struct {
	Dims []int
	Data []uint8 // row-major
}

// readIDXFile reads the first n entries (all when n <= 0) of path, or of
// path.gz when path does not exist.
func readIDXFile(path string, n int) (*IDX, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		path += ".gz"
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadIDXFirst(f, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// maxIDXBytes bounds an IDX payload (the Fashion-MNIST training images take
// 47 MB).
const maxIDXBytes = 1 << 30

// ReadIDX reads an IDX file of unsigned bytes (type 0x08), gzipped or not:
// the big-endian header 0 0 8 ndim, ndim uint32 dimensions, then the data.
func ReadIDX(r io.Reader) (*IDX, error) { return ReadIDXFirst(r, 0) }

// ReadIDXFirst is ReadIDX stopping after the first n entries along the
// first dimension (all when n <= 0).
func ReadIDXFirst(r io.Reader, first int) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("IDX header: %w", unexpected(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("not an IDX file (magic %x)", head)
	}
	if head[2] != 0x08 {
		return nil, fmt.Errorf("IDX element type 0x%02x is not supported (want unsigned bytes, 0x08)", head[2])
	}
	t := &IDX{Dims: make([]int, head[3])}
	n := 1
	for i := range t.Dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("IDX dimensions: %w", unexpected(err))
		}
		t.Dims[i] = int(d)
		if d == 0 || n > maxIDXBytes/int(d) {
			return nil, fmt.Errorf("IDX dimensions %v: empty or too large", t.Dims[:i+1])
		}
		if i == 0 && first > 0 && first < t.Dims[0] {
			t.Dims[0] = first
		}
		n *= t.Dims[i]
	}
	t.Data = make([]uint8, n)
	if _, err := io.ReadFull(br, t.Data); err != nil {
		return nil, fmt.Errorf("IDX data (%d bytes): %w", n, unexpected(err))
	}
	return t, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
