package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepscope/deepscope/model/fashion"
)

// FashionMNISTSpec is the --source value of the Fashion-MNIST test images
// (from fashion.DataDir); "fashion-mnist:DIR" reads them from DIR.
const FashionMNISTSpec = "fashion-mnist"

// fashionSplit is the split the source shows: the test set, which the demo
// network was not trained on.
const fashionSplit = "t10k"

// MNIST shows the images of an MNIST-format data set (the Fashion-MNIST
// test set), grey turned into RGB, like a folder: in manual mode it holds
// each image until Goto; otherwise it advances on every frame, looping.
type MNIST struct {
	info Info
	data *fashion.Dataset
	opt  Options
	pace *pacer
	stepper
}

// FashionMNISTAvailable reports whether dir holds the Fashion-MNIST test
// set (Debian's dataset-fashion-mnist installs it in fashion.DataDir).
func FashionMNISTAvailable(dir string) bool {
	for _, name := range []string{fashionSplit + "-images-idx3-ubyte", fashionSplit + "-labels-idx1-ubyte"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			if _, err := os.Stat(p + ".gz"); err != nil {
				return false
			}
		}
	}
	return true
}

// OpenFashionMNIST reads the test images of the MNIST-format data set in
// dir (t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, gzipped or not).
func OpenFashionMNIST(dir string, opt Options) (*MNIST, error) {
	data, err := fashion.Load(dir, fashionSplit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("source %s: no Fashion-MNIST test set in %s (install Debian's dataset-fashion-mnist): %w",
				FashionMNISTSpec, dir, err)
		}
		return nil, fmt.Errorf("source %s: %w", FashionMNISTSpec, err)
	}
	s := &MNIST{
		info: Info{Name: "Fashion-MNIST test set", Kind: KindFolder, Size: image.Pt(data.Cols, data.Rows),
			Frames: data.Len(), Paced: opt.Realtime && !opt.Manual},
		data:    data,
		opt:     opt,
		stepper: newStepper(data.Len()),
	}
	if s.info.Paced {
		s.info.FPS = opt.fps(1)
		s.pace = newPacer(s.info.FPS)
	}
	return s, nil
}

// openFashionSpec opens "fashion-mnist" or "fashion-mnist:DIR".
func openFashionSpec(spec string, opt Options) (*MNIST, error) {
	dir := fashion.DataDir
	if rest, ok := strings.CutPrefix(spec, FashionMNISTSpec+":"); ok {
		if dir = rest; dir == "" {
			return nil, fmt.Errorf("source %q: want %s:DIR with a directory", spec, FashionMNISTSpec)
		}
	}
	return OpenFashionMNIST(dir, opt)
}

// Info describes the data set.
func (s *MNIST) Info() Info { return s.info }

// Label returns the class of image i.
func (s *MNIST) Label(i int) string {
	l := int(s.data.Labels[s.wrap(i)])
	if l < len(fashion.Labels) {
		return fashion.Labels[l]
	}
	return fmt.Sprintf("class %d", l)
}

// Goto makes image pos (wrapped around) the next one.
func (s *MNIST) Goto(pos int) { s.jump(pos, nil) }

// Next returns the next image: in manual mode the current one once, then
// it waits for a Goto. Frame.Name carries the image's class.
func (s *MNIST) Next(ctx context.Context) (Frame, error) {
	if err := s.ready(ctx, s.info.Name); err != nil {
		return Frame{}, err
	}
	if err := s.pace.wait(ctx); err != nil {
		return Frame{}, err
	}
	s.mu.Lock()
	i := s.next
	s.next = s.wrap(i + 1)
	s.held = s.opt.Manual
	s.mu.Unlock()
	return Frame{Image: grayToRGBA(s.data.Gray(i)), Pos: i, Name: s.frameName(i)}, nil
}

// frameName names image i for the caption, which shows the base name of a
// path: the class, with the "/" of "T-shirt/top" replaced.
func (s *MNIST) frameName(i int) string {
	return "Fashion-MNIST test: " + strings.ReplaceAll(s.Label(i), "/", " or ")
}

// grayToRGBA copies a grey image into a new opaque RGBA one.
func grayToRGBA(g *image.Gray) *image.RGBA {
	b := g.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+b.Dx()]
		o := out.Pix[y*out.Stride:]
		for x, v := range row {
			o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = v, v, v, 0xff
		}
	}
	return out
}

// Close ends the source.
func (s *MNIST) Close() error {
	s.close()
	return nil
}
