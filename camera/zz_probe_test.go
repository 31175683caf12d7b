package camera

import (
	"testing"
	"time"
	"os"

	"gocv.io/x/gocv"
	"github.com/deepscope/deepscope/model"
)

func TestProbe(t *testing.T) {
	os.Setenv("OPENCV_LOG_LEVEL", "ERROR")
	vc, err := gocv.VideoCaptureFile("../../shared/video/bottle-detection.mp4")
	if err != nil { t.Fatal(err) }
	t.Log(vc.Get(gocv.VideoCaptureFrameWidth), vc.Get(gocv.VideoCaptureFrameHeight), vc.Get(gocv.VideoCaptureFPS), vc.Get(gocv.VideoCaptureFrameCount), vc.CodecString())
	m := gocv.NewMat()
	t0 := time.Now()
	n := 0
	for n < 100 && vc.Read(&m) { n++ }
	t.Log("decode ms/frame", time.Since(t0).Seconds()*1000/float64(n), m.Cols(), m.Rows())
	t0 = time.Now()
	var img interface{}
	for i := 0; i < 20; i++ { img, _ = m.ToImage() }
	t.Log("toimage ms", time.Since(t0).Seconds()*1000/20)
	_ = img
	mod, err := model.Load("../../shared/models/tiny_darknet.onnx", model.Options{})
	if err != nil { t.Fatal(err) }
	sc, _ := model.LoadSidecar("../../shared/models/tiny_darknet.onnx")
	im, _ := m.ToImage()
	t0 = time.Now()
	var x *model.Tensor
	for i := 0; i < 10; i++ { x = sc.PreprocessInto(x, im) }
	t.Log("preprocess ms", time.Since(t0).Seconds()*1000/10)
	for i := 0; i < 3; i++ { a, err := mod.Run(x); if err != nil { t.Fatal(err) }; a.Release() }
	t0 = time.Now()
	for i := 0; i < 10; i++ { a, _ := mod.Run(x); a.Release() }
	t.Log("forward ms", time.Since(t0).Seconds()*1000/10)
	total := 0
	for _, l := range mod.Layers { total += model.NumElements(l.Shape) }
	t.Log("layers", len(mod.Layers), "floats", total)
}
