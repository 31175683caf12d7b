package model

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// NumPy .npy files (format versions 1.0, 2.0 and 3.0): a magic string, a
// header that is a Python dict literal such as
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
//
// padded with spaces to a multiple of 64 bytes, then the raw elements.
// The engine reads little-endian float32 ('<f4'), float64 ('<f8', converted
// to float32) and int64 ('<i8') arrays in C order, and writes '<f4' (or '<i8'
// for Int64 tensors).

const npyMagic = "\x93NUMPY"

// ReadNPY reads a .npy file into a tensor.
func ReadNPY(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := DecodeNPY(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// WriteNPY writes t to a .npy file ('<f4', or '<i8' for an Int64 tensor).
func WriteNPY(path string, t *Tensor) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = EncodeNPY(w, t)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// DecodeNPY reads one .npy array from r.
func DecodeNPY(r io.Reader) (*Tensor, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("not a .npy file: %w", eofAsUnexpected(err))
	}
	if string(pre[:6]) != npyMagic {
		return nil, errors.New("not a .npy file (bad magic)")
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated .npy header: %w", eofAsUnexpected(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated .npy header: %w", eofAsUnexpected(err))
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > 1<<24 {
			return nil, fmt.Errorf(".npy header length %d is implausible", n)
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d.%d", major, minor)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("truncated .npy header: %w", eofAsUnexpected(err))
	}
	descr, fortran, shape, err := parseNPYHeader(string(hdr))
	if err != nil {
		return nil, err
	}
	if fortran {
		return nil, errors.New(".npy array is in Fortran order; save it in C order (numpy.ascontiguousarray)")
	}
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf(".npy shape %v is too large", shape)
		}
		n *= d
	}
	var size int
	switch descr {
	case "<f4":
		size = 4
	case "<f8", "<i8":
		size = 8
	default:
		return nil, fmt.Errorf("unsupported .npy dtype %q (want '<f4', '<f8' or '<i8')", descr)
	}
	// Read what is there before allocating what the header claims: a tiny
	// file may claim gigabytes.
	raw, err := io.ReadAll(io.LimitReader(r, int64(n)*int64(size)))
	if err == nil && len(raw) < n*size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("truncated .npy data: want %d values of shape %v: %w", n, shape, eofAsUnexpected(err))
	}
	t := &Tensor{Shape: shape}
	switch descr {
	case "<f4":
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case "<f8":
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case "<i8":
		t.DType = Int64
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			t.Ints[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	}
	return t, nil
}

// EncodeNPY writes t to w as a .npy array: version 1.0 (2.0 when the header
// does not fit), C order, '<f4' for Float32 and '<i8' for Int64 tensors.
func EncodeNPY(w io.Writer, t *Tensor) error {
	n := t.Len()
	descr := "<f4"
	if t.DType == Int64 {
		descr = "<i8"
		if len(t.Ints) != n {
			return fmt.Errorf("tensor %v holds %d values", t, len(t.Ints))
		}
	} else if len(t.Data) != n {
		return fmt.Errorf("tensor %v holds %d values", t, len(t.Data))
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)

	// Pad with spaces so that magic+version+length+header is a multiple of
	// 64 bytes, ending in '\n'.
	version, lenBytes := byte(1), 2
	if len(dict)+1+10 > math.MaxUint16 {
		version, lenBytes = 2, 4
	}
	pre := len(npyMagic) + 2 + lenBytes
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	hdr := dict + strings.Repeat(" ", total-pre-len(dict)-1) + "\n"

	var buf bytes.Buffer
	buf.WriteString(npyMagic)
	buf.WriteByte(version)
	buf.WriteByte(0)
	if version == 1 {
		binary.Write(&buf, binary.LittleEndian, uint16(len(hdr)))
	} else {
		binary.Write(&buf, binary.LittleEndian, uint32(len(hdr)))
	}
	buf.WriteString(hdr)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}

	const chunk = 1 << 14
	var raw [8 * chunk]byte
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		k := 0
		for i := start; i < end; i++ {
			if t.DType == Int64 {
				binary.LittleEndian.PutUint64(raw[k:], uint64(t.Ints[i]))
				k += 8
			} else {
				binary.LittleEndian.PutUint32(raw[k:], math.Float32bits(t.Data[i]))
				k += 4
			}
		}
		if _, err := w.Write(raw[:k]); err != nil {
			return err
		}
	}
	return nil
}

func eofAsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseNPYHeader parses the header dict literal. It accepts the subset of
// Python literal syntax numpy writes: quoted strings, True/False and tuples
// of integers, in any key order.
func parseNPYHeader(h string) (descr string, fortran bool, shape []int, err error) {
	p := &npyParser{s: strings.TrimSpace(h)}
	bad := func(what string) error {
		return fmt.Errorf("malformed .npy header %q: %s", strings.TrimSpace(h), what)
	}
	if !p.eat('{') {
		return "", false, nil, bad("want '{'")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok {
			return "", false, nil, bad("want a quoted key")
		}
		if !p.eat(':') {
			return "", false, nil, bad("want ':' after " + key)
		}
		switch key {
		case "descr":
			if descr, ok = p.str(); !ok {
				return "", false, nil, bad("descr is not a string (structured dtypes are not supported)")
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				fortran = true
			case p.word("False"):
				fortran = false
			default:
				return "", false, nil, bad("fortran_order is not True or False")
			}
		case "shape":
			if shape, ok = p.tuple(); !ok {
				return "", false, nil, bad("shape is not a tuple of integers")
			}
		default:
			return "", false, nil, bad("unknown key " + key)
		}
		seen[key] = true
		if !p.eat(',') {
			if !p.eat('}') {
				return "", false, nil, bad("want ',' or '}'")
			}
			break
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return "", false, nil, bad("missing " + k)
		}
	}
	return descr, fortran, shape, nil
}

type npyParser struct {
	s string
	i int
}

func (p *npyParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *npyParser) eat(c byte) bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *npyParser) word(w string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *npyParser) str() (string, bool) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, true
}

func (p *npyParser) tuple() ([]int, bool) {
	if !p.eat('(') {
		return nil, false
	}
	dims := []int{}
	for {
		if p.eat(')') {
			return dims, true
		}
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		// Python 2 era files may write long integers as 3L.
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil {
			return nil, false
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		dims = append(dims, d)
		if !p.eat(',') {
			return dims, p.eat(')')
		}
	}
}
