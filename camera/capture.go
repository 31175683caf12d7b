package camera

import (
	"fmt"
	"image"
	"os"
	"sync"

	"gocv.io/x/gocv"
)

// capture reads the frames of an OpenCV VideoCapture (a webcam or a video
// file) as RGBA images. It is used from one goroutine at a time.
type capture struct {
	vc   *gocv.VideoCapture
	bgr  gocv.Mat // the decoded frame, as OpenCV delivers it
	rgba gocv.Mat // the frame converted to RGBA
}

var configureOnce sync.Once

// configureOpenCV, called before OpenCV is first used, keeps it from
// printing warnings (a missing camera, a codec it probes) on stderr, since
// errors come back as Go errors, and makes a camera that stops delivering
// frames answer within 3 s instead of 10. Settings the user made in the
// environment are kept.
func configureOpenCV() {
	configureOnce.Do(func() {
		for k, v := range map[string]string{
			"OPENCV_LOG_LEVEL":                  "ERROR",
			"OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT": "3",
		} {
			if _, ok := os.LookupEnv(k); !ok {
				os.Setenv(k, v)
			}
		}
	})
}

func newCapture(vc *gocv.VideoCapture) *capture {
	return &capture{vc: vc, bgr: gocv.NewMat(), rgba: gocv.NewMat()}
}

// size returns the frame size the capture reports.
func (c *capture) size() image.Point {
	return image.Pt(int(c.vc.Get(gocv.VideoCaptureFrameWidth)), int(c.vc.Get(gocv.VideoCaptureFrameHeight)))
}

// read decodes the next frame into a new image. ok is false when there is
// no frame (the end of a file, a camera that stopped answering).
func (c *capture) read() (img *image.RGBA, ok bool, err error) {
	if !c.vc.Read(&c.bgr) || c.bgr.Empty() {
		return nil, false, nil
	}
	alpha := false // OpenCV sets alpha 255 when it adds the channel
	switch t := c.bgr.Type(); t {
	case gocv.MatTypeCV8UC3:
		gocv.CvtColor(c.bgr, &c.rgba, gocv.ColorBGRToRGBA)
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(c.bgr, &c.rgba, gocv.ColorBGRAToRGBA)
		alpha = true
	case gocv.MatTypeCV8UC1:
		gocv.CvtColor(c.bgr, &c.rgba, gocv.ColorGrayToRGBA)
	default:
		return nil, true, fmt.Errorf("unsupported pixel format (OpenCV type %v)", t)
	}
	w, h := c.rgba.Cols(), c.rgba.Rows()
	data, err := c.rgba.DataPtrUint8()
	if err != nil {
		return nil, true, err
	}
	if len(data) < 4*w*h {
		return nil, true, fmt.Errorf("short frame: %d bytes for %dx%d", len(data), w, h)
	}
	img = image.NewRGBA(image.Rect(0, 0, w, h))
	copy(img.Pix, data[:4*w*h])
	for i := 3; alpha && i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	return img, true, nil
}

func (c *capture) close() {
	c.bgr.Close()
	c.rgba.Close()
	c.vc.Close()
}
