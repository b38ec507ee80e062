// Command pubbench measures publishing against a real Mosquitto broker
// (make bench-publish):
//
//	pubbench latency -bin bin/edgecnn -model models/mnist.ckpt [-frames 300 -fps 30]
//	    runs `edgecnn run --camera synthetic --publish every --mqtt …` as a
//	    process and, with a subscriber on the broker, measures the time from
//	    each frame's capture (the reading's "time") to its arrival at the
//	    subscriber (same host, same clock).
//	pubbench outage [-n 600 -rate 20 -down 0]
//	    stops the broker, offers n readings at rate per second to a
//	    publisher (the same package `edgecnn run` uses: durable queue, MQTT
//	    sink), keeps the broker down for -down (default: as long as the
//	    readings take), restarts it, and checks that all n arrive in order.
//	    -rate 1 is the "10 minutes down at 1 reading/s" at full length.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/edgecnn/edgecnn/agent/publish"
	"github.com/edgecnn/edgecnn/agent/publish/mosquittotest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pubbench latency|outage [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "latency":
		err = latency(os.Args[2:])
	case "outage":
		err = outage(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pubbench:", err)
		os.Exit(1)
	}
}

type arrival struct {
	r  publish.Reading
	at time.Time
}

// sub is a QoS 1 subscriber; persistent keeps its session across broker
// restarts (the broker persists it), so nothing published while it
// reconnects is missed.
type sub struct {
	mu  sync.Mutex
	got []arrival
	c   mqtt.Client
}

func subscribe(url, id, topic string, persistent bool) (*sub, error) {
	s := &sub{}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(!persistent).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
			at := time.Now()
			var r publish.Reading
			if json.Unmarshal(m.Payload(), &r) != nil {
				return
			}
			s.mu.Lock()
			s.got = append(s.got, arrival{r, at})
			s.mu.Unlock()
		})
	})
	s.c = mqtt.NewClient(opts)
	if t := s.c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("subscriber: %v", t.Error())
	}
	return s, nil
}

func (s *sub) arrivals() []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func latency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	bin := fs.String("bin", "bin/edgecnn", "edgecnn binary")
	model := fs.String("model", "models/mnist.ckpt", "model file")
	frames := fs.Int("frames", 300, "frames to process")
	fps := fs.Float64("fps", 30, "synthetic camera frame rate")
	fs.Parse(args)
	dir, err := os.MkdirTemp("", "pubbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := mosquittotest.Start(dir, mosquittotest.Options{})
	if err != nil {
		return err
	}
	defer b.Kill()
	s, err := subscribe(b.URL("", ""), "bench-sub", "edgecnn/bench/state", false)
	if err != nil {
		return err
	}
	cmd := exec.Command(*bin, "run", "--model", *model, "--camera", "synthetic", "--realtime",
		"--fps", fmt.Sprint(*fps), "--max-frames", fmt.Sprint(*frames), "--publish", "every",
		"--mqtt", b.URL("", ""), "--mqtt-id", "bench", "--queue-dir", dir+"/q")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s run: %w", *bin, err)
	}
	// The JSON lines say when each frame's result was ready.
	done := map[uint64]time.Time{}
	for _, l := range strings.Split(string(out), "\n") {
		var line struct {
			Seq  uint64    `json:"seq"`
			Time time.Time `json:"time"`
		}
		if json.Unmarshal([]byte(l), &line) == nil {
			done[line.Seq] = line.Time
		}
	}
	time.Sleep(200 * time.Millisecond)
	got := s.arrivals()
	if len(got) == 0 {
		return fmt.Errorf("no reading arrived")
	}
	var total, recog, pub []float64
	for _, a := range got {
		total = append(total, ms(a.at.Sub(a.r.Time)))
		if d, ok := done[a.r.Seq]; ok {
			recog = append(recog, ms(d.Sub(a.r.Time)))
			pub = append(pub, ms(a.at.Sub(d)))
		}
	}
	fmt.Printf("latency (edgecnn run, synthetic camera %v fps, --publish every, QoS 1, fsync'd queue, loopback), %d readings of %d frames:\n",
		*fps, len(total), *frames)
	report("frame capture → subscriber", total)
	report("  capture → result (recognition)", recog)
	report("  result → subscriber (publishing)", pub)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(what string, v []float64) {
	if len(v) == 0 {
		return
	}
	slices.Sort(v)
	q := func(p float64) float64 { return v[min(len(v)-1, int(p*float64(len(v))))] }
	fmt.Printf("  %-36s p50 %6.1f ms  p95 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (≤ 50 ms: %d of %d)\n",
		what, q(0.5), q(0.95), q(0.99), v[len(v)-1], countBelow(v, 50), len(v))
}

func countBelow(ms []float64, lim float64) int {
	n := 0
	for _, v := range ms {
		if v <= lim {
			n++
		}
	}
	return n
}

func outage(args []string) error {
	fs := flag.NewFlagSet("outage", flag.ExitOnError)
	n := fs.Int("n", 600, "readings while the broker is down")
	rate := fs.Float64("rate", 20, "readings per second")
	down := fs.Duration("down", 0, "how long the broker stays down (default: n/rate)")
	fs.Parse(args)
	if *down == 0 {
		*down = time.Duration(float64(*n) / *rate * float64(time.Second))
	}
	dir, err := os.MkdirTemp("", "pubbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := mosquittotest.Start(dir, mosquittotest.Options{Persist: true})
	if err != nil {
		return err
	}
	defer b.Kill()
	s, err := subscribe(b.URL("", ""), "bench-outage-sub", "edgecnn/outage/state", true)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, err := publish.NewMQTT(publish.MQTTConfig{URL: b.URL("", ""), ID: "outage", Log: log,
		BackoffMin: 200 * time.Millisecond, BackoffMax: 5 * time.Second})
	if err != nil {
		return err
	}
	p, err := publish.New(publish.Options{Policy: publish.Policy{Mode: publish.Every}, QueueDir: dir + "/q", Log: log,
		BackoffMin: 100 * time.Millisecond, BackoffMax: 2 * time.Second}, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; p.Close() }()

	time.Sleep(500 * time.Millisecond) // let it connect before the outage
	if err := b.Stop(); err != nil {
		return err
	}
	t0 := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	for i := 1; i <= *n; i++ {
		<-tick.C
		p.Offer(publish.Reading{Time: time.Now().UTC(), Seq: uint64(i), Digits: fmt.Sprint(1000 + i), Confidence: 0.99})
	}
	tick.Stop()
	if rest := *down - time.Since(t0); rest > 0 {
		time.Sleep(rest)
	}
	downFor := time.Since(t0)
	if err := b.Start(); err != nil {
		return err
	}
	back := time.Now()
	deadline := back.Add(2*time.Minute + *down)
	var got []arrival
	for {
		got = s.arrivals()
		if distinct(got) >= *n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	drained := time.Since(back)
	inOrder, dups := true, 0
	seen := map[uint64]bool{}
	var next uint64 = 1
	for _, a := range got {
		if seen[a.r.Seq] {
			dups++
			continue
		}
		seen[a.r.Seq] = true
		if a.r.Seq != next {
			inOrder = false
		}
		next++
	}
	note := "the issue's pace"
	if *rate != 1 {
		note = "compressed clock: the issue's target is 600 at 1/s, 10 min down"
	}
	fmt.Printf("outage: broker down %.1f s while %d readings were offered at %.1f/s (%s)\n",
		downFor.Seconds(), *n, *rate, note)
	fmt.Printf("  delivered %d of %d after the broker returned, in order: %v, duplicates %d, dropped %d, all in %.2f s after restart\n",
		len(seen), *n, inOrder, dups, p.Dropped(), drained.Seconds())
	if len(seen) != *n || !inOrder {
		return fmt.Errorf("target missed: %d of %d delivered, in order %v", len(seen), *n, inOrder)
	}
	return nil
}

func distinct(a []arrival) int {
	seen := map[uint64]bool{}
	for _, x := range a {
		seen[x.r.Seq] = true
	}
	return len(seen)
}
