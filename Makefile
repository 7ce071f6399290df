# vneidgw — the two commands a newcomer needs: `make run` and `make test`.
GO      ?= go
BIN     := bin/vneidgw
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build bench bench-unit lint fuzz clean

## run: the whole system on the embedded demo (Badger under ./data, SMSC simulator, web on 127.0.0.1:8080)
run: build
	./$(BIN) serve --demo

## test: the whole suite with the race detector
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

## build: the binaries under bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vneidgw
	$(GO) build -o bin/vneidgw-bench ./cmd/vneidgw-bench

## bench: end-to-end load figures (bulk approvals, single notices, OTP latency, RSS), then micro-benchmarks
bench: build
	./bin/vneidgw-bench --binary ./$(BIN)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

## bench-unit: micro-benchmarks only
bench-unit:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./...

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo "gofmt: files above need formatting" && exit 1)
	$(GO) vet ./...

## fuzz: a short run of every fuzz target (seed corpora live under testdata/fuzz)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
