package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/deepscope/deepscope/model"
)

// cmdModels runs `deepscope models ARGS...` and returns the exit status.
func cmdModels(args []string, stdout, stderr io.Writer) int {
	return commandStatus(stderr, runModels(&cli{stdout: stdout, stderr: stderr}, args))
}

// commandStatus turns a command's error into an exit status as run does:
// 0 for success or help, the status of an exitStatus, else 2 with the
// message on stderr.
func commandStatus(stderr io.Writer, err error) int {
	var st exitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &st):
		return int(st)
	}
	fmt.Fprintf(stderr, "deepscope: %s\n", oneLine(err.Error()))
	return 2
}

const modelsUsage = `Usage:
  deepscope models list [--catalog FILE]
        show the catalog of ONNX Model Zoo classifiers and which are downloaded
  deepscope models get [--insecure-http] [--mirror URL] [--dir DIR] [--catalog FILE] NAME...
        download models into the user cache (resumable, sha256-verified),
        with their sidecar (preprocessing) and ImageNet labels

Downloaded models are used with --model NAME. --catalog reads another
catalog in the format of model/zoo.tsv instead of the built-in one.
`

// catalog returns the built-in catalog, or the one in file.
func catalog(file string) ([]model.ZooModel, error) {
	if file == "" {
		return model.Zoo(), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return model.ParseZoo(f)
}

// lookupModel finds a model by name (case-insensitive) in a catalog.
func lookupModel(zs []model.ZooModel, name string) (model.ZooModel, bool) {
	for _, z := range zs {
		if strings.EqualFold(z.Name, name) {
			return z, true
		}
	}
	return model.ZooModel{}, false
}

// runModels lists the catalog or downloads models.
func runModels(c *cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, modelsUsage)
		return errors.New("models: want a subcommand: list or get")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, modelsUsage)
		return nil
	case "list":
		return modelsList(c, args[1:])
	case "get":
		return modelsGet(c, args[1:])
	}
	return fmt.Errorf("models: unknown subcommand %q (want list or get)", args[0])
}

func modelsList(c *cli, args []string) error {
	fs := newFlags("models list")
	file := fs.String("catalog", "", "read the catalog from this `file` (zoo.tsv format)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("models list: unexpected argument %q", rest[0])
	}
	zs, err := catalog(*file)
	if err != nil {
		return fmt.Errorf("models list: %w", err)
	}
	d := &model.Downloader{}
	cache, cacheErr := model.CacheDir()
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tINPUT\tDOWNLOADED")
	for _, z := range zs {
		status := "no"
		if cacheErr == nil {
			if p, err := d.Path(z); err == nil {
				if st, err := os.Stat(p); err == nil && st.Size() == z.Size {
					status = "yes"
				} else if _, err := os.Stat(p + ".part"); err == nil {
					status = "partly (get resumes)"
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%.1f MB\t%s\t%s\n", z.Name, float64(z.Size)/1e6, inputSummary(z), status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if cacheErr == nil {
		fmt.Fprintf(c.stdout, "\nDownloads go to %s ('deepscope models get NAME').\n", cache)
	}
	var shared []string
	for _, m := range model.LocalModels() {
		if m.Source == "shared" {
			shared = append(shared, m.Name)
		}
	}
	if len(shared) > 0 {
		fmt.Fprintf(c.stdout, "Also available from %s: %s.\n", model.SharedModelsDir(), strings.Join(shared, ", "))
	}
	return nil
}

// inputSummary describes a catalog model's preprocessing in one column.
func inputSummary(z model.ZooModel) string {
	nums := func(v []float64) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("%s (x/%g-[%s])/[%s]", z.Color, z.Scale, nums(z.Mean), nums(z.Std))
}

func modelsGet(c *cli, args []string) error {
	fs := newFlags("models get")
	insecure := fs.Bool("insecure-http", false, "allow plain http:// downloads (HTTPS only otherwise)")
	mirror := fs.String("mirror", "", "download from this base `URL` (catalog paths appended) instead of the ONNX Model Zoo")
	dir := fs.String("dir", "", "download into this `directory` instead of the user cache")
	file := fs.String("catalog", "", "read the catalog from this `file` (zoo.tsv format)")
	names, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return errors.New("models get: give the NAME of a model (see 'deepscope models list')")
	}
	all, err := catalog(*file)
	if err != nil {
		return fmt.Errorf("models get: %w", err)
	}
	var zs []model.ZooModel
	for _, n := range names {
		z, ok := lookupModel(all, n)
		if !ok {
			return fmt.Errorf("models get: %q is not in the catalog (see 'deepscope models list')", n)
		}
		zs = append(zs, z)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, z := range zs {
		bar := &model.ProgressBar{W: c.stderr, Label: z.Name}
		d := &model.Downloader{Dir: *dir, InsecureHTTP: *insecure, BaseURL: *mirror, Progress: bar.Update}
		path, err := d.Get(ctx, z)
		bar.Done()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("models get: %s: interrupted; run the command again to resume", z.Name)
			}
			return fmt.Errorf("models get: %w", err)
		}
		fmt.Fprintln(c.stdout, path)
	}
	return nil
}
