# Board binary: the on-device command set (tags in cross.BoardTags), pure Go.
BENCH_TARGETS += bench-size
TEST_TARGETS  += test-board-build

BOARD_TAGS := board,urfave_cli_no_docs

.PHONY: bench-size test-board-build
# test-board-build: the board variant builds for every board architecture.
test-board-build:
	CGO_ENABLED=0 GOARCH=arm64 $(GO) build -tags $(BOARD_TAGS) -trimpath -ldflags '$(LDFLAGS)' -o /dev/null ./cmd/edgecnn
	CGO_ENABLED=0 GOARCH=arm GOARM=7 $(GO) build -tags $(BOARD_TAGS) -trimpath -ldflags '$(LDFLAGS)' -o /dev/null ./cmd/edgecnn
	CGO_ENABLED=0 GOARCH=amd64 $(GO) build -tags $(BOARD_TAGS) -trimpath -ldflags '$(LDFLAGS)' -o /dev/null ./cmd/edgecnn

# bench-size: size of the pure-Go arm64 board binary against the 12 MB target.
bench-size:
	@mkdir -p .cache/build
	@CGO_ENABLED=0 GOARCH=arm64 $(GO) build -tags $(BOARD_TAGS) -trimpath -ldflags '$(LDFLAGS)' -o .cache/build/edgecnn-arm64 ./cmd/edgecnn
	@CGO_ENABLED=0 GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o .cache/build/edgecnn-arm64-host ./cmd/edgecnn
	@b=$$(stat -c %s .cache/build/edgecnn-arm64); h=$$(stat -c %s .cache/build/edgecnn-arm64-host); \
	printf 'binary size  arm64 board build %d bytes (%.2f MiB), full CLI %d bytes; target <= 12 MiB: %s\n' \
	  $$b $$(awk "BEGIN{print $$b/1048576}") $$h $$( [ $$b -le 12582912 ] && echo met || echo MISSED )
