# deepscope — the two commands: `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
# Real data for tests, benchmarks and demos (models, photos, video).
export DEEPSCOPE_SHARED ?= $(abspath ../shared)
# PyTorch reference fixtures for the larger networks (generated, not committed).
export DEEPSCOPE_TORCH_REFS ?= $(abspath .cache/torch)
TORCH_MODELS := squeezenet1_1,resnet18,mobilenet_v2,googlenet,alexnet

.PHONY: all setup setup-test build run test vet bench fuzz testdata-torch screenshot clean package train-demo

all: build

setup:
	@scripts/setup

setup-test:
	@scripts/setup --test

build: setup
	$(GO) build -o deepscope ./cmd/deepscope

run: build
	./deepscope

# Retrains the embedded demo network (assets/fashion_cnn.*) on Debian's
# dataset-fashion-mnist with the default seed and settings.
train-demo: setup
	$(GO) run ./cmd/deepscope train-demo

# The Linux tarball dist/deepscope.tar.xz made by `fyne package` from
# FyneApp.toml: binary, icon (assets/icon.png, drawn by scripts/icon),
# .desktop file and a Makefile whose `sudo make install` installs them.
FYNE_TOOL := fyne.io/tools/cmd/fyne@v1.7.4
package: setup
	@mkdir -p dist .cache/package
	$(GO) build -ldflags="-s -w" -o .cache/package/deepscope ./cmd/deepscope
	rm -f deepscope.tar.xz
	$(GO) run $(FYNE_TOOL) package --os linux --executable .cache/package/deepscope
	mv deepscope.tar.xz dist/deepscope.tar.xz
	@tar tJf dist/deepscope.tar.xz

vet:
	$(GO) vet ./...

# PyTorch 1.13 (Debian) exports the reference networks once into .cache/torch.
testdata-torch: setup-test $(DEEPSCOPE_TORCH_REFS)/.done
	@[ $(DEEPSCOPE_TORCH_REFS)/vis/tiny_darknet/params.json -nt scripts/vis_refs.py ] || /usr/bin/python3 scripts/vis_refs.py --out $(DEEPSCOPE_TORCH_REFS)/vis --models tiny_darknet

$(DEEPSCOPE_TORCH_REFS)/.done: scripts/torch_refs.py
	@echo "generating PyTorch references into $(DEEPSCOPE_TORCH_REFS) (about a minute, once)"
	/usr/bin/python3 scripts/torch_refs.py --out $(DEEPSCOPE_TORCH_REFS) --models $(TORCH_MODELS) --size 224
	@touch $@

test: setup setup-test testdata-torch vet
	$(GO) test -race -timeout 30m ./...
	@# The 224x224 PyTorch networks, all real-model photos and the many-pass vis references are
	@# skipped under -race (slow, and no concurrency in them); they run here without it.
	$(GO) test -count=1 -run "TestTorchReferences|TestRealModels" ./model/
	$(GO) test -count=1 -run "TestTorchRef" ./vis/
	@# The scalar Go code that stands in for vis's AVX2 kernels on other processors.
	$(GO) test -count=1 -tags purego -run "Sigmoid|Adam|Fourier|Fold|Warp|Optimize" ./vis/

# A real run of the explorer under Xvfb, grabbed to a PNG (OUT=path).
screenshot: setup-test build
	scripts/screenshot $(or $(OUT),screenshot.png)

# Benchmarks print ratios against PyTorch measured in the same run.
bench: setup-test testdata-torch
	scripts/bench

# Longer fuzzing of the readers of untrusted files (ONNX, sidecar, .npy,
# images, index manifests), one fuzzer after the other for FUZZTIME each
# (make test runs their seed corpora only).
FUZZTIME ?= 10m
fuzz:
	$(GO) test ./model -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -parallel 1 -timeout 0
	$(GO) test ./model -run '^$$' -fuzz '^FuzzSidecar$$' -fuzztime $(FUZZTIME) -parallel 1 -timeout 0
	$(GO) test ./model -run '^$$' -fuzz '^FuzzNpy$$' -fuzztime $(FUZZTIME) -parallel 1 -timeout 0
	$(GO) test ./model -run '^$$' -fuzz '^FuzzImage$$' -fuzztime $(FUZZTIME) -parallel 1 -timeout 0
	$(GO) test ./vis/index -run '^$$' -fuzz '^FuzzManifest$$' -fuzztime $(FUZZTIME) -parallel 1 -timeout 0

clean:
	rm -f deepscope
	rm -rf dist
	rm -rf .cache
