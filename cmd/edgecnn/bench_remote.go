//go:build !board

package main

import "github.com/edgecnn/edgecnn/bench/onboard"

// benchOnBoard runs bench --host (board builds have none: board.go).
var benchOnBoard = onboard.Run
