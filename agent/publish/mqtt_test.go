package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgecnn/edgecnn/agent/publish/mosquittotest"
)

func newMQTT(t *testing.T, cfg MQTTConfig) *MQTT {
	t.Helper()
	if cfg.BackoffMax == 0 {
		cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 300*time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	m, err := NewMQTT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMQTTBrokerRestartNothingLost stops the broker mid-run: readings
// offered while it is away stay queued and arrive, in order, after it
// is back.
func TestMQTTBrokerRestartNothingLost(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{Persist: true})
	sub := subscribe(t, b.URL("", ""), "test-sub", true, "edgecnn/t/state")
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log}, newMQTT(t, MQTTConfig{URL: b.URL("", ""), ID: "t", Log: log}))
	const n = 60
	for i := 1; i <= 20; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 20*time.Second, "the first 20 readings", func() bool { return len(sub.seqs(t)) >= 20 })
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 21; i <= 40; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 10*time.Second, "20 readings queued while the broker is down", func() bool { return p.queued() == 20 })
	if len(lb.lines("connection lost")) == 0 {
		t.Error("no log line about the lost connection")
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 41; i <= n; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 30*time.Second, fmt.Sprintf("all %d readings at the subscriber", n), func() bool {
		seen := map[uint64]bool{}
		for _, s := range sub.seqs(t) {
			seen[s] = true
		}
		return len(seen) == n
	})
	dups := checkInOrder(t, sub.seqs(t), n)
	t.Logf("%d readings delivered in order across a broker restart (%d duplicates)", n, dups)
	waitUntil(t, 5*time.Second, "an empty queue", func() bool { return p.queued() == 0 })
	if d := p.outs[0].q.Dropped(); d != 0 {
		t.Errorf("%d readings dropped", d)
	}
}

// TestMQTTBrokerStoppedWhileStreaming stops and restarts the broker while
// readings flow (some publishes are in flight when it goes): all arrive,
// in order.
func TestMQTTBrokerStoppedWhileStreaming(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{Persist: true})
	sub := subscribe(t, b.URL("", ""), "stream-sub", true, "edgecnn/s/state")
	log, _ := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log}, newMQTT(t, MQTTConfig{URL: b.URL("", ""), ID: "s", Log: log}))
	const n = 150
	for i := 1; i <= n; i++ {
		p.Offer(reading(i))
		time.Sleep(5 * time.Millisecond) // a steady stream
		switch i {
		case 40:
			if err := b.Stop(); err != nil {
				t.Fatal(err)
			}
		case 100:
			if err := b.Start(); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitUntil(t, 30*time.Second, "all readings at the subscriber", func() bool {
		seen := map[uint64]bool{}
		for _, s := range sub.seqs(t) {
			seen[s] = true
		}
		return len(seen) == n
	})
	dups := checkInOrder(t, sub.seqs(t), n)
	t.Logf("%d readings in order across a stop/start while streaming (%d duplicates)", n, dups)
}

// TestMQTTAuthRefused: a wrong password gives one clear error line (not
// one per retry, and never the password), and the readings stay queued.
func TestMQTTAuthRefused(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{Users: map[string]string{"meter": "right-pass"}})
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log},
		newMQTT(t, MQTTConfig{URL: b.URL("meter", "wrong-pass-Xy7"), ID: "t", Log: log}))
	for i := 1; i <= 5; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 20*time.Second, "three refused connection attempts", func() bool { return len(lb.lines("connect failed")) >= 2 })
	errs := lb.lines("level=ERROR")
	if len(errs) != 1 || !strings.Contains(errs[0], "refused the login") || !strings.Contains(errs[0], "--mqtt") {
		t.Fatalf("want one ERROR line saying the login was refused, got %q", errs)
	}
	if strings.Contains(lb.String(), "wrong-pass-Xy7") {
		t.Fatal("the password appears in the log")
	}
	waitUntil(t, 10*time.Second, "5 readings queued (none lost)", func() bool { return p.queued() == 5 })
	// The right password on the same queue delivers them.
	sub := subscribe(t, b.URL("meter", "right-pass"), "auth-sub", false, "edgecnn/t/state")
	dir := p.opt.QueueDir
	p2 := startPublisher(t, Options{Policy: Policy{Mode: Every}, QueueDir: dir + "-2", Log: log},
		newMQTT(t, MQTTConfig{URL: b.URL("meter", "right-pass"), ID: "t2", Topic: "edgecnn/t", Log: log}))
	p2.Offer(reading(1))
	waitUntil(t, 20*time.Second, "a reading with the right password", func() bool { return len(sub.seqs(t)) == 1 })
}

// TestMQTTTLS connects over TLS with the broker's CA and fails clearly
// with another CA.
func TestMQTTTLS(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{TLS: true, Users: map[string]string{"u": "p"}})
	sub := subscribe(t, b.URL("u", "p"), "tls-sub", false, "edgecnn/tls/state")
	log, _ := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log},
		newMQTT(t, MQTTConfig{URL: b.TLSURL("u", "p"), CAFile: b.CAFile, ID: "tls", Log: log}))
	for i := 1; i <= 3; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 20*time.Second, "3 readings over TLS", func() bool { return len(sub.seqs(t)) == 3 })
	checkInOrder(t, sub.seqs(t), 3)

	log2, lb2 := testLogger(t)
	p2 := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log2},
		newMQTT(t, MQTTConfig{URL: b.TLSURL("u", "p"), CAFile: b.OtherCAFile, ID: "tls2", Log: log2}))
	p2.Offer(reading(1))
	waitUntil(t, 20*time.Second, "retries with the wrong CA", func() bool { return len(lb2.lines("connect failed")) >= 2 })
	errs := lb2.lines("level=ERROR")
	if len(errs) != 1 || !strings.Contains(errs[0], "certificate not accepted") || !strings.Contains(errs[0], "--mqtt-ca") {
		t.Fatalf("want one ERROR line about the certificate, got %q", errs)
	}
	waitUntil(t, 10*time.Second, "the reading kept queued", func() bool { return p2.queued() == 1 })
}

// TestMQTTClientCertificate: a broker that requires a client certificate
// refuses the sink without one (one error line) and accepts it with
// --mqtt-cert/--mqtt-key.
func TestMQTTClientCertificate(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{TLS: true, ClientCert: true})
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log},
		newMQTT(t, MQTTConfig{URL: b.TLSURL("", ""), CAFile: b.CAFile, ID: "nocert", Log: log}))
	p.Offer(reading(1))
	waitUntil(t, 20*time.Second, "retries without a client certificate", func() bool { return len(lb.lines("connect failed")) >= 2 })
	if errs := lb.lines("level=ERROR"); len(errs) != 1 || !strings.Contains(errs[0], "client certificate (--mqtt-cert, --mqtt-key)") {
		t.Fatalf("want one error line about the client certificate, got %q", errs)
	}
	waitUntil(t, 10*time.Second, "the reading kept queued", func() bool { return p.queued() == 1 })

	log2, _ := testLogger(t)
	p2 := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log2},
		newMQTT(t, MQTTConfig{URL: b.TLSURL("", ""), CAFile: b.CAFile, CertFile: b.ClientCertFile, KeyFile: b.ClientKeyFile,
			ID: "withcert", Log: log2}))
	p2.Offer(reading(1))
	waitUntil(t, 20*time.Second, "delivery with a client certificate", func() bool {
		return testutil.ToFloat64(p2.m.sent.WithLabelValues("mqtt")) == 1
	})
}

func TestMQTTConfigErrors(t *testing.T) {
	for _, c := range []MQTTConfig{
		{URL: "http://host:1883"},
		{URL: "mqtt://"},
		{URL: "mqtt://host/some/path"},
		{URL: "mqtt://host", CAFile: "ca.pem"},
		{URL: "mqtts://host", CAFile: "/nonexistent/ca.pem"},
		{URL: "mqtts://host", CertFile: "c.pem"},
		{URL: "mqtt://host", Topic: "a/#"},
		{URL: "mqtt://host", ID: "has space"},
	} {
		if _, err := NewMQTT(c); err == nil {
			t.Errorf("NewMQTT(%+v) accepted", c)
		}
	}
	_, err := NewMQTT(MQTTConfig{URL: "mqtt://user:pa ss%zz@host"})
	if err == nil || strings.Contains(err.Error(), "pa ss") {
		t.Errorf("bad URL with a password: err = %v (must not show the password)", err)
	}
}

// TestMQTTDiscoveryAndLastWill runs the publisher in a child process:
// its Home Assistant discovery messages are retained and well-formed,
// availability is "online", and after kill -9 the broker publishes the
// last will "offline".
func TestMQTTDiscoveryAndLastWill(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{})
	avail := subscribe(t, b.URL("", ""), "avail-sub", false, "edgecnn/meter1/#")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EDGECNN_MQTT_CHILD="+b.URL("", ""), "EDGECNN_MQTT_CHILD_DIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	last := func() string {
		a := ""
		for _, m := range avail.messages() {
			if m.Topic == "edgecnn/meter1/availability" {
				a = m.Payload
			}
		}
		return a
	}
	waitUntil(t, 20*time.Second, "availability online and the state", func() bool {
		return last() == "online" && len(avail.seqs(t)) == 1
	})

	// A late subscriber (Home Assistant starting after the device) gets
	// the retained discovery messages and the last state.
	ha := subscribe(t, b.URL("", ""), "ha", false, "homeassistant/#")
	st := subscribe(t, b.URL("", ""), "ha-state", false, "edgecnn/meter1/state")
	waitUntil(t, 10*time.Second, "two retained discovery messages and the state", func() bool {
		return len(ha.messages()) == 2 && len(st.messages()) >= 1
	})
	if m := st.messages()[0]; !m.Retained {
		t.Error("state message not retained")
	}
	ids := map[string]bool{}
	for _, m := range ha.messages() {
		if !m.Retained {
			t.Errorf("%s not retained", m.Topic)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(m.Payload), &d); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		for _, k := range []string{"name", "unique_id", "state_topic", "value_template", "availability_topic", "device"} {
			if _, ok := d[k]; !ok {
				t.Errorf("%s: no %q", m.Topic, k)
			}
		}
		if d["state_topic"] != "edgecnn/meter1/state" || d["availability_topic"] != "edgecnn/meter1/availability" {
			t.Errorf("%s: topics %v %v", m.Topic, d["state_topic"], d["availability_topic"])
		}
		obj := strings.TrimSuffix(strings.TrimPrefix(m.Topic, "homeassistant/sensor/"), "/config")
		if d["unique_id"] != obj {
			t.Errorf("%s: unique_id %v does not match the topic's object id", m.Topic, d["unique_id"])
		}
		ids[obj] = true
		dev, _ := d["device"].(map[string]any)
		idl, _ := dev["identifiers"].([]any)
		if len(idl) == 0 || dev["name"] == "" || dev["sw_version"] != "test-1.0" || dev["model"] == nil {
			t.Errorf("%s: device block %v", m.Topic, dev)
		}
		// value_template reads a key the state message has.
		tmpl, _ := d["value_template"].(string)
		var state map[string]any
		json.Unmarshal([]byte(st.messages()[0].Payload), &state)
		found := false
		for k := range state {
			found = found || strings.Contains(tmpl, "value_json."+k)
		}
		if !found {
			t.Errorf("%s: value_template %q reads no key of the state %v", m.Topic, tmpl, state)
		}
	}
	if !ids["meter1_reading"] || !ids["meter1_confidence"] {
		t.Errorf("discovery objects %v, want meter1_reading and meter1_confidence", ids)
	}

	cmd.Process.Kill() // SIGKILL: no goodbye, the broker sends the will
	waitUntil(t, 20*time.Second, "the last will \"offline\"", func() bool { return last() == "offline" })
}

// mqttChild is the child process of TestMQTTDiscoveryAndLastWill.
func mqttChild(url string) {
	m, err := NewMQTT(MQTTConfig{URL: url, ID: "meter1", Discovery: "homeassistant", Model: "test", SWVersion: "test-1.0"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, err := New(Options{Policy: Policy{Mode: Every}, QueueDir: os.Getenv("EDGECNN_MQTT_CHILD_DIR")}, m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p.Offer(Reading{Time: time.Now(), Seq: 1, Digits: "42", Confidence: 0.97, Model: "m@sha256:0"})
	p.Run(context.Background())
}

func TestMQTTCloseWithoutStart(t *testing.T) {
	m := newMQTT(t, MQTTConfig{URL: "mqtt://127.0.0.1:1"})
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close of a sink never started does not return")
	}
}
