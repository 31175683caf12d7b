# deepscope — the two commands: `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
# Real data for tests, benchmarks and demos (models, photos, video).
export DEEPSCOPE_SHARED ?= $(abspath ../shared)
# PyTorch reference fixtures for the larger networks (generated, not committed).
export DEEPSCOPE_TORCH_REFS ?= $(abspath .cache/torch)
TORCH_MODELS := squeezenet1_1,resnet18,mobilenet_v2,googlenet,alexnet

.PHONY: all setup setup-test build run test vet bench fuzz testdata-torch screenshot clean

all: build

setup:
	@scripts/setup

setup-test:
	@scripts/setup --test

build: setup
	$(GO) build -o deepscope ./cmd/deepscope

run: build
	./deepscope

vet:
	$(GO) vet ./...

# PyTorch 1.13 (Debian) exports the reference networks once into .cache/torch.
testdata-torch: setup-test $(DEEPSCOPE_TORCH_REFS)/.done

$(DEEPSCOPE_TORCH_REFS)/.done: scripts/torch_refs.py
	@echo "generating PyTorch references into $(DEEPSCOPE_TORCH_REFS) (about a minute, once)"
	/usr/bin/python3 scripts/torch_refs.py --out $(DEEPSCOPE_TORCH_REFS) --models $(TORCH_MODELS) --size 224
	@touch $@

test: setup setup-test testdata-torch vet
	$(GO) test -race -timeout 30m ./...
	@# The 224x224 PyTorch networks and all real-model photos are skipped under -race (slow, and no
	@# concurrency in them); they run here without it.
	$(GO) test -count=1 -run "TestTorchReferences|TestRealModels" ./model/

# A real run of the explorer under Xvfb, grabbed to a PNG (OUT=path).
screenshot: setup-test build
	scripts/screenshot $(or $(OUT),screenshot.png)

# Benchmarks print ratios against PyTorch measured in the same run.
bench: setup-test testdata-torch
	scripts/bench

# Longer fuzzing of the ONNX loader (make test runs the seed corpus only).
fuzz:
	$(GO) test ./model -run '^$$' -fuzz FuzzDecode -fuzztime 10m

clean:
	rm -f deepscope
	rm -rf .cache
