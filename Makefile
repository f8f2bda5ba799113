# unimon: `make` builds bin/unimon, `make run` boots the bundled example,
# `make test` runs every test (KVM, network namespaces, fuzzing, arm64 lane).
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin

.PHONY: all run test test-unit test-arm64 bench fidelity fuzz deps vet clean

# bin/unimon is the lean build, which runs unikernels and nothing else:
# without the debug modules (gdb stub, core files) it links neither them
# nor net, and starts in less memory (issue 12). It hands --gdb and
# --dumpcore to bin/unimon-debug, the same command with them, as
# upstream's solo5-hvt leaves them to solo5-hvt-debug.
LEAN_TAGS := unimon_nodebug

all: $(BIN)/unimon $(BIN)/unimon-debug $(BIN)/unimon-build $(BIN)/unimon-runtime

$(BIN)/unimon: $(BIN)/unimon-debug FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(LEAN_TAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/unimon

$(BIN)/unimon-debug: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/unimon

# What `unimon build` runs: the builder, kept out of the monitor's binary.
$(BIN)/unimon-build: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./cmd/unimon-build

# The OCI runtime for containerd, Docker, podman and Kubernetes: a
# process per container, lean as bin/unimon (it has no debug options).
$(BIN)/unimon-runtime: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(LEAN_TAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/unimon-runtime

# The bundled example: an ordinary Go program built into a unikernel.
$(BIN)/hello.hvt: $(BIN)/unimon $(BIN)/unimon-build FORCE
	$(BIN)/unimon build -o $@ ./examples/hello

# Boots the bundled hello unikernel.
run: $(BIN)/unimon $(BIN)/hello.hvt
	$(BIN)/unimon --mem=64 $(BIN)/hello.hvt from make run

# Test tools the machine may lack: iproute2 for network namespaces.
deps:
	@scripts/deps.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt: not formatted: $$out"; exit 1; fi
	$(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./...
	$(GO) vet -tags $(LEAN_TAGS) ./...
	GOARCH=arm64 $(GO) vet -tags $(LEAN_TAGS) ./...
	# unimon itself (build, info) on macOS hosts; running a VM there says it needs Linux with KVM.
	GOOS=darwin GOARCH=amd64 $(GO) vet ./cmd/unimon
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/unimon

# Everything: vet, unit and KVM tests, brief fuzzing, the arm64 lane.
test: deps vet
	@scripts/test.sh

# The arm64 KVM tests alone: cross-built, run under qemu-system-aarch64
# with nested KVM (internal/arm64lane; UNIMON_SKIP_ARM64=1 skips loudly).
test-arm64:
	$(GO) run ./internal/arm64lane

# UPSTREAM_HVT=/path/to/solo5-hvt adds upstream's tender to the boot
# comparison (Debian does not package Solo5; build it from its source).
bench: $(BIN)/unimon
	UPSTREAM_HVT=$(UPSTREAM_HVT) $(GO) test -run '^$$' -bench . -benchtime 20x ./monitor/ ./monitor/x86_64/ ./tests/...

# The standard library's tests inside unikernels next to native, per
# package, over a longer list than make test's (scripts/fidelity.sh).
fidelity:
	@scripts/fidelity.sh table

# Longer fuzzing: FUZZTIME per target, a count (default 1000000x; durations
# can fail spuriously in Go 1.26, go.dev/issue/75804).
fuzz:
	@FUZZTIME=$${FUZZTIME:-1000000x} scripts/fuzz.sh

clean:
	rm -rf $(BIN)

FORCE:
