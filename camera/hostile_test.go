package camera

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Hostile --source values: files that are not what their name says, or not
// files at all. Open must return an error naming the problem, never hang.

// openGuarded runs Open in a goroutine and fails the test if it has not
// returned after a minute (a hang, not a slow open: a healthy Open of these
// takes milliseconds).
func openGuarded(t *testing.T, spec string) (Source, error) {
	t.Helper()
	type result struct {
		s   Source
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Open(spec, Options{})
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-time.After(time.Minute):
		t.Fatalf("Open(%s) hangs", spec)
		return nil, nil
	}
}

func TestHostileSources(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 256<<10)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The start of the real video: its header promises frames that are not
	// there.
	var videoHead []byte
	if f, err := os.Open(filepath.Join(sharedDir(), "video", "bottle-detection.mp4")); err == nil {
		videoHead = make([]byte, 4096)
		io.ReadFull(f, videoHead)
		f.Close()
	}
	fifo := filepath.Join(dir, "pipe.mp4")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A PNG signature and IHDR chunk claiming 100000 x 100000 pixels.
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), 100000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	hugePNG := binary.BigEndian.AppendUint32([]byte("\x89PNG\r\n\x1a\n"), 13)
	hugePNG = binary.BigEndian.AppendUint32(append(hugePNG, ihdr...), crc32.ChecksumIEEE(ihdr))
	type tc struct{ name, spec, want string }
	cases := []tc{
		{"random bytes as .mp4", write("random.mp4", random), "random.mp4"},
		{"random bytes as .avi", write("random.avi", random[:4096]), "random.avi"},
		{"random bytes, no extension", write("random", random[:1000]), "random"},
		{"zero-byte video", write("empty.mkv", nil), "empty.mkv"},
		{"text as video", write("notes.mov", []byte("this is a text file\n")), "notes.mov"},
		{"random bytes as .jpg", write("random.jpg", random[:5000]), "unknown format"},
		{"truncated JPEG header", write("cut.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")), "cut.jpg: truncated or corrupt header"},
		{"zero-byte image", write("empty.png", nil), "empty.png: the file is empty"},
		{"PNG claiming 100000x100000", write("huge.png", hugePNG), "png image of 100000x100000 pixels is too large"},
		{"named pipe as video", fifo, "pipe.mp4 is not a regular file"},
		{"device file", "/dev/zero", "/dev/zero is not a regular file"},
		{"missing file", filepath.Join(dir, "absent.mp4"), "absent.mp4 does not exist"},
		{"webcam without number", "webcam:", "want webcam:N"},
		{"negative webcam", "webcam:-1", "camera index must be 0 or more"},
		{"webcam that is not a device", "webcam:../../etc/passwd", "webcam ../../etc/passwd"},
		{"absent camera device", "/dev/video97", "webcam /dev/video97: no such camera"},
	}
	if videoHead != nil {
		cases = append(cases, tc{"truncated real video", write("head.mp4", videoHead), "head.mp4"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := openGuarded(t, c.spec)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", c.spec)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open(%s): %v, want an error containing %q", c.spec, err, c.want)
			}
			t.Log(err)
		})
	}
}

// A folder of nothing but corrupt images reports each once and then says
// none can be read, instead of spinning.
func TestHostileFolder(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.jpg", "b.png", "c.gif"} {
		os.WriteFile(filepath.Join(dir, name), []byte("corrupt "+name), 0o644)
	}
	s, err := openGuarded(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i, name := range []string{"a.jpg", "b.png", "c.gif"} {
		_, err := s.Next(ctx)
		if !errors.Is(err, ErrSkipped) || !strings.Contains(err.Error(), name) {
			t.Fatalf("Next %d: %v, want a skipped %s", i, err, name)
		}
	}
	_, err = s.Next(ctx)
	if err == nil || !strings.Contains(err.Error(), "none of its 3 images can be read") {
		t.Fatalf("Next after all failed: %v", err)
	}
}
