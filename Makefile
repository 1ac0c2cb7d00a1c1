# cutover: two commands matter — `make demo` and `make test`. See README.md.
GO ?= go

.PHONY: build demo test lint unit fuzz bench clean

build:
	$(GO) build -o bin/cutover ./cmd/cutover

demo: build
	./bin/cutover demo

# Every test: formatting, vet, staticcheck, the race-enabled test suite, short fuzz runs.
test:
	./scripts/test.sh

lint:
	./scripts/test.sh lint

unit:
	./scripts/test.sh unit

fuzz:
	./scripts/test.sh fuzz

bench:
	./bench/router.sh

clean:
	rm -rf bin
