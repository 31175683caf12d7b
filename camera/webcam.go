package camera

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"

	"gocv.io/x/gocv"
)

// Webcam is a camera read through OpenCV (V4L2 on Linux). It is paced by
// the camera and live: frames keep coming at the camera's rate.
type Webcam struct {
	c    *capture
	info Info
}

// OpenWebcam opens a camera by index ("0", "1") or by device path
// ("/dev/video0"). A camera that does not exist or cannot be opened gives
// an error wrapping ErrNoDevice, quickly (about 0.2 s), so that the caller
// can fall back to another source.
func OpenWebcam(device string) (*Webcam, error) {
	configureOpenCV()
	device = strings.TrimSpace(device)
	name := "webcam " + device
	var (
		vc  *gocv.VideoCapture
		err error
	)
	if idx, convErr := strconv.Atoi(device); convErr == nil {
		if idx < 0 {
			return nil, fmt.Errorf("%s: camera index must be 0 or more", name)
		}
		vc, err = gocv.VideoCaptureDeviceWithAPI(idx, cameraAPI())
	} else {
		if _, statErr := os.Stat(device); statErr != nil {
			if errors.Is(statErr, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w (the device does not exist)", name, ErrNoDevice)
			}
			return nil, fmt.Errorf("%s: %w (%v)", name, ErrNoDevice, statErr)
		}
		vc, err = gocv.VideoCaptureFileWithAPI(device, cameraAPI())
	}
	if err == nil && !vc.IsOpened() {
		err = errors.New("not opened")
	}
	if err != nil {
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("%s: %w (OpenCV cannot open it)", name, ErrNoDevice)
	}
	// Keep only the newest frame in the driver: the reader drains the
	// camera continuously, and a small queue means a small delay.
	vc.Set(gocv.VideoCaptureBufferSize, 1)
	c := newCapture(vc)
	w := &Webcam{c: c, info: Info{Name: name, Kind: KindWebcam, FPS: vc.Get(gocv.VideoCaptureFPS), Size: c.size(), Paced: true, Live: true}}
	return w, nil
}

// cameraAPI is the OpenCV capture backend for cameras: V4L2 on Linux (no
// GStreamer detour), the platform's default elsewhere.
func cameraAPI() gocv.VideoCaptureAPI {
	if runtime.GOOS == "linux" {
		return gocv.VideoCaptureV4L2
	}
	return gocv.VideoCaptureAny
}

// Info describes the camera.
func (w *Webcam) Info() Info { return w.info }

// Next waits for the camera's next frame. A camera that was unplugged or
// stopped answering gives an error on each call.
func (w *Webcam) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if w.c == nil {
		return Frame{}, fmt.Errorf("%s: %w", w.info.Name, ErrClosed)
	}
	img, ok, err := w.c.read()
	switch {
	case err != nil:
		return Frame{}, fmt.Errorf("%s: %w", w.info.Name, err)
	case !ok:
		return Frame{}, fmt.Errorf("%s: no frame (camera unplugged or in use?)", w.info.Name)
	}
	return Frame{Image: img}, nil
}

// Close releases the camera.
func (w *Webcam) Close() error {
	if w.c != nil {
		w.c.close()
		w.c = nil
	}
	return nil
}
