package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/edgecnn/edgecnn/agent/publish"
	"github.com/edgecnn/edgecnn/agent/publish/mosquittotest"
)

// subscribeAll subscribes to topic on a real broker and gathers payloads.
func subscribeAll(t *testing.T, url, topic string) func() []string {
	var mu sync.Mutex
	var got []string
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("cli-test-sub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		got = append(got, m.Topic()+" "+string(m.Payload()))
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestRunPublishesMQTTFromConfigFile: the publishing settings work as
// --config keys; every reading reaches the broker in order with the model
// version, and Home Assistant discovery goes out.
func TestRunPublishesMQTTFromConfigFile(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{})
	got := subscribeAll(t, b.URL("", ""), "#")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"mqtt": "`+b.URL("", "")+`", "mqtt-topic": "meters/kitchen", "mqtt-id": "kitchen",
		"publish": "every", "queue-dir": "`+filepath.Join(dir, "q")+`"}`), 0o600)
	out, errs, err := cameraCLI(t, "run", "--model", "../../models/mnist.ckpt", "--camera", "synthetic",
		"--max-frames", "10", "--config", cfg)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errs)
	}
	if n := strings.Count(out, "\n"); n != 10 {
		t.Fatalf("%d JSON lines, want 10", n)
	}
	var seqs []uint64
	discovery := 0
	for _, m := range got() {
		topic, payload, _ := strings.Cut(m, " ")
		switch {
		case topic == "meters/kitchen/state":
			var r publish.Reading
			if err := json.Unmarshal([]byte(payload), &r); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.Model, "mnist.ckpt@sha256:") || (r.Digits == "" && r.Reason == "") {
				t.Errorf("state %s", payload)
			}
			seqs = append(seqs, r.Seq)
		case strings.HasPrefix(topic, "homeassistant/sensor/kitchen_"):
			discovery++
		}
	}
	// The same frames, in the same order, as the JSON lines.
	var want []uint64
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var line struct{ Seq uint64 }
		json.Unmarshal([]byte(l), &line)
		want = append(want, line.Seq)
	}
	if fmt.Sprint(seqs) != fmt.Sprint(want) {
		t.Fatalf("state messages for frames %v, want %v", seqs, want)
	}
	if discovery != 2 {
		t.Errorf("%d discovery messages, want 2", discovery)
	}
}

// TestRunMQTTAuthRefused: the broker refuses the login; recognition goes
// on (every frame's JSON line), one error line says why, the password is
// never printed, and the readings stay queued for the next start.
func TestRunMQTTAuthRefused(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{Users: map[string]string{"meter": "right"}})
	q := t.TempDir()
	out, errs, err := cameraCLI(t, "run", "--model", "../../models/mnist.ckpt", "--camera", "synthetic", "--realtime", "--fps", "30",
		"--max-frames", "30", "--mqtt", b.URL("meter", "Wr0ngSecret"), "--queue-dir", q)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errs)
	}
	if n := strings.Count(out, "\n"); n != 30 {
		t.Fatalf("%d JSON lines, want 30 (recognition must go on)", n)
	}
	var errLines []string
	for _, l := range strings.Split(errs, "\n") {
		if strings.Contains(l, "level=ERROR") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.Contains(errLines[0], "refused the login") {
		t.Fatalf("want one error line about the refused login, got:\n%s", errs)
	}
	if strings.Contains(errs, "Wr0ngSecret") {
		t.Fatal("the password was logged")
	}
	if !strings.Contains(errs, "left queued on disk") {
		t.Errorf("no word about the readings left queued:\n%s", errs)
	}
}

func TestRunPublishFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--webhook", "http://127.0.0.1:1/x", "--publish", "sometimes"}, "want change, every or interval"},
		{[]string{"--monotonic"}, "need --mqtt or --webhook"},
		{[]string{"--mqtt-ca", "ca.pem"}, "need --mqtt"},
		{[]string{"--mqtt", "http://broker"}, "mqtt:// or mqtts://"},
		{[]string{"--webhook", "ftp://x"}, "want http"},
		{[]string{"--webhook", "http://127.0.0.1:1/x", "--agree", "0"}, "--agree"},
	} {
		args := append([]string{"run", "--model", "../../models/mnist.ckpt", "--camera", "synthetic", "--max-frames", "1",
			"--queue-dir", t.TempDir()}, tc.args...)
		_, _, err := cameraCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestRunConfigLargeIntegers: JSON numbers reach integer flags as
// integers (8388608, not 8.388608e+06).
func TestRunConfigLargeIntegers(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"webhook": "http://127.0.0.1:1/x", "queue-max-bytes": 16777216, "max-delta": 2000000,
		"queue-dir": "`+filepath.Join(dir, "q")+`"}`), 0o600)
	_, errs, err := cameraCLI(t, "run", "--model", "../../models/mnist.ckpt", "--camera", "synthetic", "--max-frames", "1", "--config", cfg)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errs)
	}
}
