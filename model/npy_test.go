package model

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/npy were written by numpy 1.24 (np.save, and
// numpy.lib.format.write_array with version=(2, 0) for the 2.0 header).

func TestNPYReadNumpyFiles(t *testing.T) {
	cases := []struct {
		file  string
		shape []int
		dtype DType
		data  []float32
		ints  []int64
	}{
		{"f4_2x3.npy", []int{2, 3}, Float32, []float32{1.5, -2.25, 3, 0, 1e-3, -7.125}, nil},
		{"f8_3.npy", []int{3}, Float32, []float32{0.5, -1, 3.25}, nil},
		{"i8_2x2.npy", []int{2, 2}, Int64, nil, []int64{1, -2, 3, 1 << 40}},
		{"f4_scalar.npy", []int{}, Float32, []float32{2.5}, nil},
		{"f4_v2_1x2x2.npy", []int{1, 2, 2}, Float32, []float32{-1.5, -0.5, 0.5, 1.5}, nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ReadNPY(filepath.Join("testdata", "npy", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if !SameShape(got.Shape, c.shape) || got.DType != c.dtype {
				t.Fatalf("got %v %v, want %v %v", got.DType, got.Shape, c.dtype, c.shape)
			}
			if c.dtype == Int64 {
				if len(got.Ints) != len(c.ints) {
					t.Fatalf("got %d ints, want %d", len(got.Ints), len(c.ints))
				}
				for i := range c.ints {
					if got.Ints[i] != c.ints[i] {
						t.Errorf("ints[%d] = %d, want %d", i, got.Ints[i], c.ints[i])
					}
				}
				return
			}
			if len(got.Data) != len(c.data) {
				t.Fatalf("got %d values, want %d", len(got.Data), len(c.data))
			}
			for i := range c.data {
				if got.Data[i] != c.data[i] {
					t.Errorf("data[%d] = %g, want %g", i, got.Data[i], c.data[i])
				}
			}
		})
	}
}

func TestNPYReadErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "npy", "f4_2x3.npy"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		file string // under testdata/npy, or "" to use data
		data []byte
		want string
	}{
		{"fortran", "fortran_2x3.npy", nil, "Fortran order"},
		{"uint8", "u1_3.npy", nil, `unsupported .npy dtype "|u1"`},
		{"truncated data", "", good[:len(good)-3], "truncated .npy data"},
		{"truncated header", "", good[:40], "truncated .npy header"},
		{"bad magic", "", []byte("PK\x03\x04 not numpy at all"), "bad magic"},
		{"empty", "", nil, "not a .npy file"},
		{"version 9", "", append([]byte("\x93NUMPY\x09\x00"), good[8:]...), "version 9.0"},
		{"big endian", "", bytes.Replace(good, []byte("'<f4'"), []byte("'>f4'"), 1), `">f4"`},
		{"bad shape", "", bytes.Replace(good, []byte("(2, 3)"), []byte("(2, x)"), 1), "shape is not a tuple"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.file != "" {
				_, err = ReadNPY(filepath.Join("testdata", "npy", c.file))
			} else {
				_, err = DecodeNPY(bytes.NewReader(c.data))
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := ReadNPY(filepath.Join(t.TempDir(), "missing.npy")); !os.IsNotExist(err) {
		t.Errorf("missing file: error %v, want not-exist", err)
	}
}

// Our writer produces exactly the bytes numpy's np.save does.
func TestNPYWriteMatchesNumpy(t *testing.T) {
	for _, file := range []string{"f4_2x3.npy", "i8_2x2.npy", "f4_scalar.npy"} {
		want, err := os.ReadFile(filepath.Join("testdata", "npy", file))
		if err != nil {
			t.Fatal(err)
		}
		x, err := DecodeNPY(bytes.NewReader(want))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := EncodeNPY(&buf, x); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: wrote\n%q\nnumpy wrote\n%q", file, buf.Bytes(), want)
		}
	}
}

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	big := make([]float32, 3*20000) // more than one write chunk
	for i := range big {
		big[i] = float32(i)*0.25 - 7
	}
	cases := []*Tensor{
		FromData(big, 1, 3, 20000),
		FromData([]float32{float32(math.Copysign(0, -1)), 1e-30, 3.4e38}, 3),
		FromInts([]int64{-1, 0, 1 << 62, 5, 6, 7}, 2, 3),
		FromData([]float32{}, 0, 4),
		// A shape long enough to need a second 64-byte header block.
		FromData([]float32{42}, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
	}
	for i, want := range cases {
		path := filepath.Join(dir, "x.npy")
		if err := WriteNPY(path, want); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(path)
		if hl := 10 + int(raw[8]) + int(raw[9])<<8; hl%64 != 0 || raw[hl-1] != '\n' {
			t.Errorf("case %d: header of %d bytes is not 64-aligned or lacks its newline", i, hl)
		}
		got, err := ReadNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		if !SameShape(got.Shape, want.Shape) || got.DType != want.DType {
			t.Fatalf("case %d: got %v, want %v", i, got, want)
		}
		for j := range want.Data {
			if math.Float32bits(got.Data[j]) != math.Float32bits(want.Data[j]) { // -0 stays -0
				t.Fatalf("case %d: data[%d] = %g, want %g", i, j, got.Data[j], want.Data[j])
			}
		}
		for j := range want.Ints {
			if got.Ints[j] != want.Ints[j] {
				t.Fatalf("case %d: ints[%d] = %d, want %d", i, j, got.Ints[j], want.Ints[j])
			}
		}
	}
	if err := WriteNPY(filepath.Join(dir, "no", "such", "dir.npy"), cases[1]); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
