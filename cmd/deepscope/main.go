// Command deepscope explores the insides of ONNX CNN classifiers: it
// predicts classes, lists layers, dumps activations and runs the ONNX
// conformance tests. Run `deepscope help` for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	name    string
	args    string // synopsis of the arguments, for help
	summary string
	run     func(c *cli, args []string) error
}

// commands is the table of subcommands, in the order help lists them.
var commands []command

func init() {
	commands = []command{
		{"gui", "[--model M.onnx|NAME|demo] [--source webcam|FILE|DIR|pattern|fashion-mnist] [--select LAYER:UNIT] [--method M] [--presentation]",
			"open the explorer window (also what `deepscope` without arguments does)", runGUI},
		{"predict", "--model M.onnx [--top 5] [--json] IMAGE... | --input-npy X.npy",
			"print the top classes with their probabilities for each image", runPredict},
		{"layers", "--model M.onnx", "list every layer: name, op type, output shape", runLayers},
		{"activations", "--model M.onnx --layer NAME --out A.npy IMAGE | --input-npy X.npy",
			"write one layer's output for an image as a float32 .npy file (batch dimension dropped)", runActivations},
		{"render", "--model M.onnx --method NAME|all (--class C | --layer L --unit U [--at max|Y,X]) --out OUT.png [--npy RAW.npy] IMAGE | --input-npy X.npy",
			"render a visualisation (saliency, deconv, guided, gradcam, ...) of a class or unit for an image", runRender},
		{"evaluate", evaluateArgs, "score attribution methods: deletion/insertion AUC and the model-randomization sanity check", runEvaluate},
		{"stream", "--model M.onnx --source webcam|FILE|DIR|pattern [--frames N] [--layer L] [--realtime]",
			"run the live pipeline headless and print frames per second and per-stage milliseconds", runStream},
		{"conformance", "[-v] [--run REGEXP] DIR...",
			"run ONNX backend test directories (a directory of test directories is expanded)", runConformance},
		{"optimize", optimizeArgs, "make an image that maximizes a unit, a position or a class (activation maximization)", runOptimize},
		{"dream", dreamArgs, "DeepDream: amplify what a layer sees in a photo (or in noise), over octaves", runDream},
		{"classviz", classvizArgs, "class model visualization: an image that maximizes a class logit (Simonyan et al. 2014)", runClassviz},
		{"invert", invertArgs, "reconstruct an image from one layer's code and print the feature reconstruction error", runInvert},
		{"fool", foolArgs, "make an unrecognisable image the network calls class C with high confidence", runFool},
		{"adversarial", adversarialArgs, "perturb an image by at most epsilon per pixel to change its prediction (PGD or FGSM)", runAdversarial},
		{"style", styleArgs, "neural style transfer on Gram matrices (Gatys et al. 2016)", runStyle},
		{"index", "--model M.onnx --images DIR|VIDEO [--layers L1,L2|all] [--top 9] [--shard i/n] --out INDEX | merge A B ... --out INDEX | sheet --index INDEX --layer L --unit U --out S.png",
			"mine a folder or video for every unit's top images, receptive-field crops and their deconvolutions", runIndex},
		{"embed", "--model M.onnx --layer L --images DIR --out embed.png",
			"lay images out by t-SNE of a layer's features", runEmbed},
		{"models", "list | get NAME [--insecure-http]",
			"list the model catalog, or download a catalog model (verified by sha256) into the user cache", runModels},
		{"train-demo", "[--epochs N] [--seed S] [--data DIR] [--out DIR]",
			"train the embedded Fashion-MNIST demo network and export it to ONNX", runTrainDemo},
		{"version", "", "print the version", runVersion},
		{"help", "[COMMAND]", "print this help, or a command's flags", runHelp},
	}
}

// cli is where a command writes.
type cli struct {
	stdout, stderr io.Writer
}

// exitStatus is an error that sets the exit status without a message (its
// command has already said what went wrong on stdout).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status: 0 on
// success, 1 when conformance tests fail, 2 on bad input or usage (with one
// line "deepscope: ..." on stderr).
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "deepscope: internal error: %s\n", oneLine(fmt.Sprint(p)))
			code = 2
		}
	}()
	c := &cli{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			usage(stdout)
			fmt.Fprint(stdout, "\nNo display found: with one, `deepscope` alone opens the explorer window.\n")
			return 0
		}
		return cmdGUI(nil, stdout, stderr)
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" {
		name = "help"
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "deepscope: unknown command %q (see 'deepscope help')\n", args[0])
		return 2
	}
	err := runCommand(cmd, c, args[1:])
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

// runCommand runs cmd. Every command but gui runs on a goroutine of its
// own: Fyne's window driver locks the main goroutine to the process's main
// OS thread at init (windows must be driven from there), and a locked
// goroutine cannot hand work to the scheduler cheaply — each of the
// thousands of waits per forward pass (a layer split across the cores, a
// frame from the reader) then costs an OS thread switch. Measured on
// `deepscope index` with tiny_darknet over 1000 photos: 38.2 s of scan on
// the main goroutine against 29-32 s in a test binary without the lock.
func runCommand(cmd *command, c *cli, args []string) error {
	if cmd.name == "gui" {
		return cmd.run(c, args)
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("internal error: %s", oneLine(fmt.Sprint(p)))
			}
		}()
		done <- cmd.run(c, args)
	}()
	return <-done
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, "deepscope explores the insides of ONNX CNN classifiers.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n        %s\n", strings.TrimSpace("deepscope "+c.name+" "+c.args), c.summary)
	}
	fmt.Fprint(w, "\nCommands that take an IMAGE also take --input-npy X.npy instead: a preprocessed float32\n"+
		"tensor of the model's input shape, with or without the batch dimension.\n"+
		"Run 'deepscope help COMMAND' for a command's flags.\n")
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
