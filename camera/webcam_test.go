package camera

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A missing camera fails fast with ErrNoDevice, so that the caller can
// fall back.
func TestMissingWebcam(t *testing.T) {
	for _, dev := range []string{"9", "/dev/video97"} {
		start := time.Now()
		w, err := OpenWebcam(dev)
		if err == nil {
			w.Close()
			t.Skipf("a camera %s exists on this machine", dev)
		}
		if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "webcam "+dev) {
			t.Errorf("OpenWebcam(%s): %v, want ErrNoDevice naming the camera", dev, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("OpenWebcam(%s) took %v", dev, d)
		}
	}
	if _, err := OpenWebcam("-1"); err == nil {
		t.Error("OpenWebcam(-1) succeeded")
	}
}
