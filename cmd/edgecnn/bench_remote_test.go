//go:build !board

package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/edgecnn/edgecnn/bench"
	"github.com/edgecnn/edgecnn/deploy/sshdtest"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
)

// TestBenchOnBoardOverSSH: bench --host cross-builds the board binary,
// ships it and the model to a real sshd on loopback (this machine plays a
// generic-amd64 board) and reports the board's rows beside the host's.
func TestBenchOnBoardOverSSH(t *testing.T) {
	data := trainDataDir(t)
	ck, err := model.ReadCheckpointFile(filepath.Join(filepath.Dir(filepath.Dir(data)), "models", "mnist.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := model.FloatGraph(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(t.TempDir(), "m.tflite")
	if err := tflite.WriteFile(mp, g); err != nil {
		t.Fatal(err)
	}
	srv := sshdtest.Start(t)
	host := srv.User + "@127.0.0.1:" + strconv.Itoa(srv.Port)
	out, stderr, err := runCLI(t, "bench", "--host", host, "--board", "generic-amd64", "--identity", srv.KeyFile,
		"--known-hosts", srv.KnownHosts, "--accept-new-host-key", "--model", mp, "--backend", "native",
		"--iterations", "5", "--warmup", "1", "--in-process", "--json")
	if err != nil {
		t.Fatalf("bench --host: %v\n%s\n%s", err, stderr, srv.Log())
	}
	var res map[string][]bench.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	for _, side := range []string{"host", "board"} {
		rows := res[side]
		if len(rows) != 1 || rows[0].Backend != "native" || rows[0].Status != "ok" || rows[0].P50us <= 0 {
			t.Fatalf("%s rows: %+v", side, rows)
		}
	}
}
