package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/model/demo"
)

// cmdTrainDemo runs `deepscope train-demo ARGS...` and returns the exit
// status.
func cmdTrainDemo(args []string, stdout, stderr io.Writer) int {
	return commandStatus(stderr, runTrainDemo(&cli{stdout: stdout, stderr: stderr}, args))
}

// runTrainDemo trains the demo network on Fashion-MNIST with gorgonia,
// exports it with the project's ONNX writer and reports its test accuracy
// measured on deepscope's own engine.
func runTrainDemo(c *cli, args []string) error {
	fl := newFlags("train-demo")
	epochs := fl.Int("epochs", demo.DefaultEpochs, "passes over the 60000 training images")
	seed := fl.Int64("seed", 1, "random `seed` (initial weights, order, flips): the same seed gives the same network")
	out := fl.String("out", "assets", "write fashion_cnn.onnx, fashion_cnn.json and fashion_labels.txt into this `directory`")
	data := fl.String("data", demo.DataDir, "the Fashion-MNIST `directory` (*-ubyte.gz, Debian's dataset-fashion-mnist)")
	limit := fl.Int("images", 0, "train on the first `n` training images only (0: all)")
	testImages := fl.Int("test-images", 0, "measure the accuracy on the first `n` test images only (0: all 10000)")
	eachEpoch := fl.Bool("eval-each-epoch", false, "print the test accuracy after every epoch (its time counts as training time)")
	rest, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("train-demo: unexpected argument %q", rest[0])
	}
	if *epochs <= 0 {
		return fmt.Errorf("train-demo: --epochs must be at least 1, got %d", *epochs)
	}
	train, err := demo.Load(*data, "train")
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("train-demo: Fashion-MNIST is not in %s: install Debian's dataset-fashion-mnist (make setup-test) or pass --data DIR", *data)
	}
	if err != nil {
		return fmt.Errorf("train-demo: %w", err)
	}
	test, err := demo.Load(*data, "t10k")
	if err != nil {
		return fmt.Errorf("train-demo: %w", err)
	}
	train = train.Subset(*limit)
	test = test.Subset(*testImages)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(c.stderr, "training on %d images, %d epochs, seed %d (gorgonia, BLAS %s)\n", train.Len(), *epochs, *seed, model.BLASBackend())
	cfg := demo.Config{Epochs: *epochs, Seed: *seed, Log: c.stderr}
	if *eachEpoch {
		cfg.AfterEpoch = func(epoch int, n *demo.Network) {
			if acc, err := quickAccuracy(n, test); err == nil {
				fmt.Fprintf(c.stderr, "epoch %d: test accuracy %.2f%% (%d images)\n", epoch, 100*acc, test.Len())
			}
		}
	}
	net, stats, err := demo.Train(ctx, train, cfg)
	if err != nil {
		return fmt.Errorf("train-demo: %w", err)
	}
	if err := demo.Export(*out, net); err != nil {
		return fmt.Errorf("train-demo: %w", err)
	}
	path := filepath.Join(*out, demo.ModelFile)
	m, err := model.Load(path, model.Options{})
	if err != nil {
		return fmt.Errorf("train-demo: the exported model does not load: %w", err)
	}
	sc, err := model.LoadSidecar(path)
	if err != nil {
		return fmt.Errorf("train-demo: %w", err)
	}
	start := time.Now()
	ev, err := demo.Evaluate(m, sc, test)
	if err != nil {
		return fmt.Errorf("train-demo: %w", err)
	}
	size := int64(0)
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(c.stdout, "trained in %s: %d epochs, seed %d, final loss %.4f\n",
		stats.Duration.Round(time.Second), *epochs, *seed, stats.EpochLoss[len(stats.EpochLoss)-1])
	fmt.Fprintf(c.stdout, "test accuracy %.2f%% (%d/%d Fashion-MNIST test images, deepscope engine, %s)\n",
		100*ev.Accuracy(), ev.Correct, ev.Total, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(c.stdout, "wrote %s (%.1f KB), %s, %s\n", path, float64(size)/1024,
		filepath.Join(*out, demo.SidecarFile), filepath.Join(*out, demo.LabelsFile))
	return nil
}

// quickAccuracy evaluates an in-memory network on deepscope's engine.
func quickAccuracy(n *demo.Network, test *demo.Dataset) (float64, error) {
	data, err := n.ONNX()
	if err != nil {
		return 0, err
	}
	m, err := model.Decode(data, model.Options{})
	if err != nil {
		return 0, err
	}
	ev, err := demo.Evaluate(m, n.Settings(), test)
	if err != nil {
		return 0, err
	}
	return ev.Accuracy(), nil
}
