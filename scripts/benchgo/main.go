// Command benchgo times the engine for scripts/bench: median forward and
// forward + input-gradient milliseconds of a model, or the load time and peak
// RSS of loading it. It prints one JSON object.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"syscall"
	"time"

	"github.com/deepscope/deepscope/model"
)

func main() {
	path := flag.String("model", "", "ONNX model")
	iters := flag.Int("n", 50, "timed iterations")
	loadOnly := flag.Bool("load", false, "only time loading and report peak RSS")
	flag.Parse()
	if err := run(*path, *iters, *loadOnly); err != nil {
		fmt.Fprintln(os.Stderr, "benchgo:", err)
		os.Exit(2)
	}
}

func run(path string, iters int, loadOnly bool) error {
	t0 := time.Now()
	m, err := model.Load(path, model.Options{})
	if err != nil {
		return err
	}
	loadMS := ms(time.Since(t0))
	out := map[string]any{"model": path, "load_ms": loadMS, "blas": model.BLASBackend()}
	if !loadOnly {
		x := model.NewTensor(m.Input().Shape...)
		for i := range x.Data {
			x.Data[i] = float32(i%251)/251 - 0.5
		}
		logits := m.Output()
		if op, ins, ok := m.Producer(logits); ok && op == "Softmax" {
			logits = ins[0]
		}
		lt, err := m.Layer(logits)
		if err != nil {
			return err
		}
		seed := model.NewTensor(lt.Shape...)
		seed.Data[0] = 1
		fwd := func() error {
			a, err := m.Run(x)
			if err != nil {
				return err
			}
			a.Release()
			return nil
		}
		bwd := func() error {
			a, err := m.Run(x)
			if err != nil {
				return err
			}
			defer a.Release()
			_, err = m.Backward(a, map[string]*model.Tensor{logits: seed}, model.Vanilla, m.Input().Name)
			return err
		}
		for name, f := range map[string]func() error{"forward_ms": fwd, "forward_backward_ms": bwd} {
			for i := 0; i < 5; i++ { // warm up the pools
				if err := f(); err != nil {
					return err
				}
			}
			times := make([]float64, iters)
			for i := range times {
				t := time.Now()
				if err := f(); err != nil {
					return err
				}
				times[i] = ms(time.Since(t))
			}
			sort.Float64s(times)
			out[name] = times[len(times)/2]
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		out["peak_rss_mb"] = float64(ru.Maxrss) / 1024
	}
	if st, err := os.Stat(path); err == nil {
		out["file_mb"] = float64(st.Size()) / (1 << 20)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
