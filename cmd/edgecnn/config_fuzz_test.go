package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

// FuzzConfigFile feeds arbitrary bytes as the --config file of `run`
// (the file flash installs beside the model): applyConfig never panics,
// and what it accepts is a JSON object whose keys are all flags of run.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte(`{"smooth": 5, "min-confidence": 0.7}`))
	f.Add([]byte(`{"http-workers": 100000}`))
	f.Add([]byte(`{"fps": 1e308, "camera": "auto\nUser=root"}`))
	f.Add([]byte(`{"config": "x"}`))
	f.Add([]byte(`[1, 2]`))
	f.Add([]byte(`{"loop": true, "size": "640x480", "http-allow-host": "cam.local"}`))
	var run *cli.Command
	for _, c := range commands() {
		if c.Name == "run" {
			run = c
		}
	}
	if run == nil {
		f.Fatal("no run command")
	}
	var names []string
	for _, fl := range run.Flags {
		names = append(names, fl.Names()...)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var applyErr error
		cmd := *run
		cmd.Action = func(c *cli.Context) error {
			applyErr = applyConfig(c, path)
			return nil
		}
		app := &cli.App{Name: "edgecnn", Commands: []*cli.Command{&cmd}, Writer: nopWriter{}, ErrWriter: nopWriter{}}
		if err := app.RunContext(context.Background(), []string{"edgecnn", "run", "--model", "m.tflite"}); err != nil {
			t.Fatalf("app: %v", err)
		}
		if applyErr != nil {
			return
		}
		var kv map[string]any
		if err := json.Unmarshal(data, &kv); err != nil {
			t.Fatalf("accepted a file that is not a JSON object: %v", err)
		}
		for k := range kv {
			if k == "config" || !slices.Contains(names, k) {
				t.Fatalf("accepted unknown setting %q", k)
			}
		}
	})
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
