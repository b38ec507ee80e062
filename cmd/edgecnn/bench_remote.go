//go:build !board

package main

import "github.com/edgecnn/edgecnn/bench/onboard"

// benchOnBoard runs bench --host (board builds have none: board.go).
var benchOnBoard = onboard.Run

// benchBoardModel prints the board's arm64 kernel model beside bench
// --host (board builds have none).
var benchBoardModel = onboard.ARM64Model
