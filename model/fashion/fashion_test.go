package fashion

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func idx(dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

// The reader's error cases are tested in model/demo (TestReadIDX, TestLoad)
// through its aliases; this checks the package's own entry points.
func TestLoadSubsetGray(t *testing.T) {
	dir := t.TempDir()
	pix := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} // 3 images of 2x2
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), idx([]uint32{3, 2, 2}, pix), 0o644)
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idx([]uint32{3}, []byte{9, 0, 5}), 0o644)
	d, err := Load(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || Labels[d.Labels[0]] != "Ankle boot" || d.Gray(1).GrayAt(1, 1).Y != 8 || d.Image(2)[0] != 9 {
		t.Errorf("dataset %+v", d)
	}
	if s := d.Subset(2); s.Len() != 2 || len(s.Images) != 8 {
		t.Errorf("subset of 2: %d images, %d pixels", s.Len(), len(s.Images))
	}
	if _, err := Load(dir, "train"); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Errorf("missing split: %v", err)
	}
}
