package camera

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeIDX writes an IDX file of unsigned bytes, gzipped when the name
// ends in .gz.
func writeIDX(t *testing.T, path string, dims []uint32, data []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	out := b.Bytes()
	if strings.HasSuffix(path, ".gz") {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(out)
		w.Close()
		out = z.Bytes()
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testMNIST writes a 3-image 4x3 test set: image i has every pixel 10*(i+1)
// except pixel (x=2, y=1) = 200+i; labels 0 (T-shirt/top), 7, 9.
func testMNIST(t *testing.T) string {
	dir := t.TempDir()
	const w, h = 4, 3
	pix := make([]byte, 3*w*h)
	for i := range 3 {
		for j := range w * h {
			pix[i*w*h+j] = byte(10 * (i + 1))
		}
		pix[i*w*h+1*w+2] = byte(200 + i)
	}
	writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), []uint32{3, h, w}, pix)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), []uint32{3}, []byte{0, 7, 9})
	return dir
}

func TestMNISTSteps(t *testing.T) {
	dir := testMNIST(t)
	if !FashionMNISTAvailable(dir) || FashionMNISTAvailable(t.TempDir()) {
		t.Fatal("FashionMNISTAvailable does not tell a data set from an empty directory")
	}
	src, err := Open(FashionMNISTSpec+":"+dir, Options{Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	info := src.Info()
	if info.Kind != KindFolder || info.Frames != 3 || info.Size.X != 4 || info.Size.Y != 3 || info.Paced {
		t.Fatalf("info %+v", info)
	}
	ctx := context.Background()
	check := func(wantPos int, wantName string) {
		t.Helper()
		f, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Pos != wantPos || f.Name != wantName {
			t.Fatalf("frame %d %q, want %d %q", f.Pos, f.Name, wantPos, wantName)
		}
		if b := f.Image.Bounds(); b.Dx() != 4 || b.Dy() != 3 || b.Min.X != 0 {
			t.Fatalf("frame bounds %v, want 4x3", b)
		}
		bg, spot := byte(10*(wantPos+1)), byte(200+wantPos)
		if c := f.Image.RGBAAt(0, 0); c.R != bg || c.G != bg || c.B != bg || c.A != 255 {
			t.Errorf("image %d pixel (0,0) %v, want grey %d", wantPos, c, bg)
		}
		if c := f.Image.RGBAAt(2, 1); c.R != spot || c.G != spot || c.B != spot {
			t.Errorf("image %d pixel (2,1) %v, want grey %d", wantPos, c, spot)
		}
	}
	check(0, "Fashion-MNIST test: T-shirt or top")
	// Manual mode holds the image until Goto.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if _, err := src.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("held image: Next gave %v, want to wait", err)
	}
	cancel()
	st := src.(Stepper)
	st.Goto(1)
	check(1, "Fashion-MNIST test: Sneaker")
	st.Goto(-1) // wraps to the last
	check(2, "Fashion-MNIST test: Ankle boot")
	st.Goto(3) // wraps to the first
	check(0, "Fashion-MNIST test: T-shirt or top")
}

func TestMNISTLoopsWhenNotManual(t *testing.T) {
	src, err := OpenFashionMNIST(testMNIST(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pos []int
	for range 5 {
		f, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pos = append(pos, f.Pos)
	}
	if want := []int{0, 1, 2, 0, 1}; !slices.Equal(pos, want) {
		t.Errorf("positions %v, want %v", pos, want)
	}
	src.Close()
	if _, err := src.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
}

func TestMNISTErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := Open(FashionMNISTSpec+":"+empty, Options{}); err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
		t.Errorf("empty directory: %v, want a hint at the Debian package", err)
	}
	if _, err := Open(FashionMNISTSpec+":", Options{}); err == nil || !strings.Contains(err.Error(), "DIR") {
		t.Errorf("no directory: %v", err)
	}
	bad := testMNIST(t)
	writeIDX(t, filepath.Join(bad, "t10k-labels-idx1-ubyte"), []uint32{2}, []byte{0, 1})
	if _, err := OpenFashionMNIST(bad, Options{}); err == nil || !strings.Contains(err.Error(), "2 labels for 3 images") {
		t.Errorf("labels disagreeing: %v", err)
	}
}

// TestFashionMNISTInstalled reads the real test set when Debian's package
// is installed.
func TestFashionMNISTInstalled(t *testing.T) {
	src, err := Open(FashionMNISTSpec, Options{Manual: true})
	if err != nil {
		t.Skipf("no Fashion-MNIST: %v", err)
	}
	defer src.Close()
	if info := src.Info(); info.Frames != 10000 || info.Size.X != 28 || info.Size.Y != 28 {
		t.Fatalf("info %+v, want 10000 images of 28x28", info)
	}
	// The first test image of Fashion-MNIST is an ankle boot.
	f, err := src.Next(context.Background())
	if err != nil || f.Name != "Fashion-MNIST test: Ankle boot" {
		t.Fatalf("first image %q, %v", f.Name, err)
	}
}
