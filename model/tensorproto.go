package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// ONNX TensorProto.DataType values.
const (
	onnxFloat    = 1
	onnxUint8    = 2
	onnxInt8     = 3
	onnxUint16   = 4
	onnxInt16    = 5
	onnxInt32    = 6
	onnxInt64    = 7
	onnxString   = 8
	onnxBool     = 9
	onnxFloat16  = 10
	onnxDouble   = 11
	onnxUint32   = 12
	onnxUint64   = 13
	onnxBfloat16 = 16
)

// maxElements bounds any single tensor (2^31 values: 8 GiB as float32), so a
// corrupt or hostile header fails before anything is allocated.
const maxElements = 1 << 31

var dtypeNames = map[int]string{
	onnxFloat: "float32", onnxUint8: "uint8", onnxInt8: "int8", onnxUint16: "uint16", onnxInt16: "int16",
	onnxInt32: "int32", onnxInt64: "int64", onnxString: "string", onnxBool: "bool", onnxFloat16: "float16",
	onnxDouble: "float64", onnxUint32: "uint32", onnxUint64: "uint64", 14: "complex64", 15: "complex128",
	onnxBfloat16: "bfloat16",
}

// onnxDTypeName names an ONNX element type for error messages.
func onnxDTypeName(dt int) string {
	if s, ok := dtypeNames[dt]; ok {
		return s
	}
	return "type " + strconv.Itoa(dt)
}

// elemSize is the raw_data width of an element type, 0 when unsupported.
func elemSize(dt int) int {
	switch dt {
	case onnxUint8, onnxInt8, onnxBool:
		return 1
	case onnxUint16, onnxInt16, onnxFloat16, onnxBfloat16:
		return 2
	case onnxFloat, onnxInt32, onnxUint32:
		return 4
	case onnxInt64, onnxDouble, onnxUint64:
		return 8
	}
	return 0
}

// engineDType maps an ONNX element type to the engine's: floating types
// become Float32, integer and boolean types Int64.
func engineDType(dt int) (DType, error) {
	switch dt {
	case onnxFloat, onnxDouble, onnxFloat16, onnxBfloat16:
		return Float32, nil
	case onnxUint8, onnxInt8, onnxUint16, onnxInt16, onnxInt32, onnxInt64, onnxUint32, onnxUint64, onnxBool:
		return Int64, nil
	}
	return 0, fmt.Errorf("%w: %s", ErrUnsupportedDType, onnxDTypeName(dt))
}

// checkedShape converts ONNX dims, refusing negative dims and tensors larger
// than maxElements.
func checkedShape(dims []int64) ([]int, int, error) {
	shape := make([]int, len(dims))
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("negative dimension %d in shape %v", d, dims)
		}
		if d > 0 && n > maxElements/d {
			return nil, 0, fmt.Errorf("shape %v has more than %d elements", dims, int64(maxElements))
		}
		n *= d
		shape[i] = int(d)
	}
	return shape, int(n), nil
}

// tensor converts a scanned TensorProto. dir is the model's directory for
// external data ("" forbids external data).
func (st *scannedTensor) tensor(dir string) (*Tensor, error) {
	dt, err := engineDType(st.dtype)
	if err != nil {
		return nil, err
	}
	shape, n, err := checkedShape(st.dims)
	if err != nil {
		return nil, err
	}
	raw := st.raw
	if st.external != nil {
		if raw, err = readExternal(dir, st.external, n*elemSize(st.dtype)); err != nil {
			return nil, err
		}
	}
	t := &Tensor{Shape: shape, DType: dt}
	if raw != nil {
		if len(raw) != n*elemSize(st.dtype) {
			return nil, fmt.Errorf("raw data holds %d bytes, shape %v of %s needs %d", len(raw), st.dims, onnxDTypeName(st.dtype), n*elemSize(st.dtype))
		}
		decodeRaw(t, st.dtype, raw, n)
		return t, nil
	}
	switch {
	case st.dtype == onnxFloat:
		t.Data = st.floats
	case st.dtype == onnxDouble:
		t.Data = make([]float32, len(st.doubles))
		for i, v := range st.doubles {
			t.Data[i] = float32(v)
		}
	case st.dtype == onnxFloat16 || st.dtype == onnxBfloat16:
		t.Data = make([]float32, len(st.ints))
		for i, v := range st.ints {
			t.Data[i] = halfToFloat(st.dtype, uint16(v))
		}
	case st.dtype == onnxUint32 || st.dtype == onnxUint64:
		t.Ints = make([]int64, len(st.uints))
		for i, v := range st.uints {
			t.Ints[i] = int64(v)
		}
	default:
		t.Ints = st.ints
	}
	if got := len(t.Data) + len(t.Ints); got != n {
		return nil, fmt.Errorf("tensor holds %d values, shape %v needs %d", got, st.dims, n)
	}
	return t, nil
}

// decodeRaw fills t from little-endian raw bytes. Aligned float32 payloads
// are used in place (the file bytes stay alive with the model).
func decodeRaw(t *Tensor, dt int, raw []byte, n int) {
	if n == 0 {
		return
	}
	switch dt {
	case onnxFloat:
		if uintptr(unsafe.Pointer(&raw[0]))%4 == 0 && littleEndian {
			t.Data = unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), n)
			return
		}
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case onnxDouble:
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case onnxFloat16, onnxBfloat16:
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = halfToFloat(dt, binary.LittleEndian.Uint16(raw[2*i:]))
		}
	default:
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			switch dt {
			case onnxUint8, onnxBool:
				t.Ints[i] = int64(raw[i])
			case onnxInt8:
				t.Ints[i] = int64(int8(raw[i]))
			case onnxUint16:
				t.Ints[i] = int64(binary.LittleEndian.Uint16(raw[2*i:]))
			case onnxInt16:
				t.Ints[i] = int64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
			case onnxInt32:
				t.Ints[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			case onnxUint32:
				t.Ints[i] = int64(binary.LittleEndian.Uint32(raw[4*i:]))
			default: // int64, uint64
				t.Ints[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
	}
}

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// halfToFloat converts IEEE float16 or bfloat16 bits.
func halfToFloat(dt int, h uint16) float32 {
	if dt == onnxBfloat16 {
		return math.Float32frombits(uint32(h) << 16)
	}
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 / 16384
		if sign != 0 {
			return -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// readExternal reads an external-data payload, confined to the model's
// directory: absolute locations and ".." escapes are refused.
func readExternal(dir string, info map[string]string, size int) ([]byte, error) {
	loc := info["location"]
	if dir == "" {
		return nil, fmt.Errorf("external data %q: the model was not loaded from a file", loc)
	}
	if loc == "" || filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.Contains(loc, "\\") || !filepath.IsLocal(loc) {
		return nil, fmt.Errorf("external data location %q must be a relative path inside the model's directory", loc)
	}
	offset, length := int64(0), int64(-1)
	var err error
	if s, ok := info["offset"]; ok {
		if offset, err = strconv.ParseInt(s, 10, 64); err != nil || offset < 0 {
			return nil, fmt.Errorf("external data %q: bad offset %q", loc, s)
		}
	}
	if s, ok := info["length"]; ok {
		if length, err = strconv.ParseInt(s, 10, 64); err != nil || length < 0 {
			return nil, fmt.Errorf("external data %q: bad length %q", loc, s)
		}
	}
	if length < 0 {
		length = int64(size)
	}
	if length != int64(size) {
		return nil, fmt.Errorf("external data %q: length %d, tensor needs %d bytes", loc, length, size)
	}
	// OpenInRoot also refuses symbolic links that lead out of dir.
	f, err := os.OpenInRoot(dir, loc)
	if err != nil {
		return nil, fmt.Errorf("external data %q: %w", loc, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	if offset+length > st.Size() {
		return nil, fmt.Errorf("external data %q: bytes %d..%d past the end of the %d-byte file", loc, offset, offset+length, st.Size())
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, offset); err != nil {
		return nil, fmt.Errorf("external data %q: %w", loc, err)
	}
	return buf, nil
}

// DecodeTensorProto decodes one serialized ONNX TensorProto (the .pb files of
// the ONNX backend tests) into its name and value.
func DecodeTensorProto(b []byte) (name string, t *Tensor, err error) {
	st, err := scanTensor(b)
	if err != nil {
		return "", nil, fmt.Errorf("decode tensor: %w", err)
	}
	t, err = st.tensor("")
	if err != nil {
		return st.name, nil, fmt.Errorf("decode tensor %q: %w", st.name, err)
	}
	if t.DType == Float32 && t.Data != nil && len(b) > 0 {
		// Do not alias the caller's buffer.
		t.Data = append([]float32(nil), t.Data...)
	}
	return st.name, t, nil
}
