# The two entry points (see README): `make demo` and `make test`. Both run the setup first,
# which installs what is missing and returns quickly when everything is present.
.PHONY: setup demo test build bench clean

setup:
	@bash scripts/setup.sh

build:
	swift build -c release --product mode

demo: setup
	@bash scripts/demo.sh

# The test suite (debug build), then Examples/Consumer built against MoDE taken by version.
test: setup
	swift test
	bash scripts/check_consumer.sh

bench: setup
	.build/release/mode bench gemm --m 1024 --n 1024 --k 1024

clean:
	rm -rf .build .build-consumer
