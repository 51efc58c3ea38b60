# mlscale developer targets. `make test` is what CI runs (.ci/run).
SHELL   := bash
GO      ?= go
PKG     := github.com/mlscale/mlscale
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT)

.PHONY: build test unit integration bench lint fmt vet golden schema gpu-smoke

# go-nvml's headers use deprecated declarations; keep cgo builds quiet.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/mlscale ./cmd/mlscale

## test: formatting, vet, the unit tests under the race detector and the
## integration tests against a real kube-apiserver (built once into the cache).
test: lint controlplane
	$(GO) test -race -count=1 ./...

## controlplane: build kube-apiserver, kube-controller-manager, etcd and the KEDA
## operator from Go modules into ${XDG_CACHE_HOME:-~/.cache}/mlscale/ once
## (MLSCALE_K8S_ASSETS and MLSCALE_KEDA_ASSETS override;
## MLSCALE_SKIP_INTEGRATION=1 skips the integration tests).
.PHONY: controlplane
controlplane:
	@hack/controlplane.sh

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## bench: run the benchmarks and print a table.
bench:
	@mkdir -p bin
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem ./... | tee bin/bench.txt | awk -f hack/benchtable.awk

## golden: refresh golden files after an intended output change.
golden:
	$(GO) test ./... -update

## release-check: validate .goreleaser.yaml with goreleaser v2.15.1 (installed
## into GOPATH/bin on first use; newer releases need a newer Go).
.PHONY: release-check
release-check:
	@command -v goreleaser >/dev/null 2>&1 || test -x "$$($(GO) env GOPATH)/bin/goreleaser" || $(GO) install github.com/goreleaser/goreleaser/v2@v2.15.1
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" goreleaser check

## gpu-smoke: run the live scaler on the real NVML for about a minute (GPU machines;
## prints a clear message and exits 4 where NVML is absent).
gpu-smoke:
	hack/gpu-smoke.sh
