package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
)

// healthResponderEnv makes the test binary a health responder (TestMain):
// "serve" runs ServeHealthResponder on descriptors 3, 4, 5 as
// `edgecnn health-responder` does; "exit" exits at once with status 3.
const healthResponderEnv = "EDGECNN_AGENT_TEST_HEALTH_RESPONDER"

func healthResponderMain(mode string) {
	if mode == "exit" {
		os.Exit(3)
	}
	ln, err := net.FileListener(os.NewFile(3, "health-listener"))
	if err == nil {
		err = ServeHealthResponder(context.Background(), ln, os.NewFile(4, "health-state"), os.NewFile(5, "agent-pipe"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// feedSource delivers what the test sends: a camera.Frame or an error.
func feedSource(feed chan any) func(context.Context) (camera.Source, error) {
	return func(ctx context.Context) (camera.Source, error) {
		return &funcSource{next: func() (camera.Frame, error) {
			select {
			case it := <-feed:
				if err, ok := it.(error); ok {
					return camera.Frame{}, err
				}
				f := it.(camera.Frame)
				f.Time = time.Now()
				return f, nil
			case <-ctx.Done():
				return camera.Frame{}, ctx.Err()
			}
		}}, nil
	}
}

// waitHealth polls url until it answers code with a body containing want.
func waitHealth(t *testing.T, url string, code int, want string) map[string]any {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := c.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		last = fmt.Sprintf("%d %v %v", resp.StatusCode, body, err)
		if resp.StatusCode == code && err == nil && strings.Contains(fmt.Sprint(body), want) {
			return body
		}
	}
	t.Fatalf("%s: want %d with %q, last answer: %s", url, code, want, last)
	return nil
}

// TestHealthResponderWhileSaturated is the mechanism behind /healthz
// answering at once under a flood: with every worker busy and the API's
// connection cap full, the responder process (a real child process, fed
// by the agent's shared memory) still answers /healthz, and tells the
// truth at once when the camera fails; the API sheds a connection above
// its cap with 503 instead of queueing it. When the agent stops, so does
// the responder.
func TestHealthResponderWhileSaturated(t *testing.T) {
	t.Setenv(healthResponderEnv, "serve")
	feed := make(chan any, 4)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	a, err := New(Config{
		OpenCamera:    feedSource(feed),
		NewRecognizer: func() (*Recognizer, error) { return NewRecognizer(&fakeEngine{answer: []int{4}}, RecognizerConfig{}) },
		Listener:      ln, HealthAddr: "127.0.0.1:0", HealthCommand: []string{os.Args[0]},
		Limits: Limits{Workers: 1, MaxConns: 4, QueueWait: 10 * time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); a.Addr() == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("agent did not listen")
		}
	}
	if a.HealthAddr() == "" {
		t.Fatal("no health responder address once listening")
	}
	hz := "http://" + a.HealthAddr() + "/healthz"
	waitHealth(t, hz, 503, "waiting for the first camera frame")
	frames := syntheticFrames(2, 64, 48, 7)
	feed <- frames[0]
	body := waitHealth(t, hz, 200, "status:ok")
	if _, ok := body["bad_frames"]; !ok {
		t.Errorf("responder body lacks bad_frames: %v", body)
	}

	// All workers busy, the connection cap full of requests waiting for
	// one (QueueWait is 10 minutes: they stay).
	rec := <-a.pool
	photo, err := os.ReadFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	// What a request waiting for the worker holds of the decode budget.
	cost := DecodeCost(cfg.Width, cfg.Height, BytesPerPixel(cfg.ColorModel)) + int64(len(photo)) + bytes.MinRead
	pc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var waiting sync.WaitGroup
	var ok200 atomic.Int32
	for i := 1; i <= 4; i++ {
		waiting.Add(1)
		go func() {
			defer waiting.Done()
			resp, err := pc.Post(base+"/predict", "image/jpeg", bytes.NewReader(photo))
			if err == nil {
				if resp.StatusCode == 200 {
					ok200.Add(1)
				}
				resp.Body.Close()
			}
		}()
		for deadline := time.Now().Add(10 * time.Second); a.budget.inUse() != int64(i)*cost; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("request %d not waiting for the worker: %d bytes of the budget in use, want %d", i, a.budget.inUse(), int64(i)*cost)
			}
		}
	}
	// Above the cap: shed at once with 503 (not queued for 10 minutes).
	nc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, body := do(t, nc, "POST", base+"/predict", []byte("x"), "Content-Type", "image/jpeg")
		if resp.StatusCode == 503 && strings.Contains(body, "too many connections") && resp.Header.Get("Retry-After") != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection cap never full: %d %s", resp.StatusCode, body)
		}
	}
	waitHealth(t, hz, 200, "status:ok")

	// The camera fails: the responder says so (no agent goroutine needs
	// to run for it to know: the state is shared memory).
	feed <- errors.New("read: device unplugged")
	waitHealth(t, hz, 503, "camera reconnecting")
	feed <- frames[1]
	waitHealth(t, hz, 200, "status:ok")

	// Hand the worker back: the requests that waited are answered.
	a.pool <- rec
	waiting.Wait()
	if ok200.Load() != 4 {
		t.Errorf("%d of 4 requests that waited for the worker answered 200", ok200.Load())
	}
	// Only /healthz on the responder's address.
	resp, text := do(t, nc, "GET", "http://"+a.HealthAddr()+"/metrics", nil)
	if resp.StatusCode != 404 || !strings.Contains(text, "--http") {
		t.Errorf("responder /metrics: %d %s", resp.StatusCode, text)
	}
	resp, _ = do(t, nc, "GET", hz, nil, "Host", "attacker.example")
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("responder with a foreign Host header: %d", resp.StatusCode)
	}
	// The agent stops: so does the responder, nothing listens there.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", a.HealthAddr())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("health responder still listening after the agent stopped")
		}
	}
}

// TestHealthResponderExitStopsAgent: a responder that dies ends Run with
// an error, so systemd restarts the whole service.
func TestHealthResponderExitStopsAgent(t *testing.T) {
	t.Setenv(healthResponderEnv, "exit")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Listener: ln, HealthAddr: "127.0.0.1:0", HealthCommand: []string{os.Args[0]},
		NewRecognizer: func() (*Recognizer, error) { return NewRecognizer(&fakeEngine{answer: []int{1}}, RecognizerConfig{}) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = a.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "health responder exited") || ctx.Err() != nil {
		t.Fatalf("Run with a dying responder: %v (ctx %v)", err, ctx.Err())
	}
	// An address in use fails the start.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	a, err = New(Config{Listener: ln2, HealthAddr: busy.Addr().String(), HealthCommand: []string{os.Args[0]},
		NewRecognizer: func() (*Recognizer, error) { return NewRecognizer(&fakeEngine{answer: []int{1}}, RecognizerConfig{}) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Run with the health address in use: %v", err)
	}
}

// TestHealthHandlerTruth drives the responder's handler from a state page:
// camera states, a fatal error, and an agent that stopped beating.
func TestHealthHandlerTruth(t *testing.T) {
	hs, err := newHealthState(nil, true, time.Second, healthStatic{AllowHosts: []string{"example.com"}, Engine: json.RawMessage(`{"backend":"native"}`)})
	if err != nil {
		t.Fatal(err)
	}
	hs2, err := openHealthState(hs.page)
	if err != nil {
		t.Fatal(err)
	}
	static, err := hs2.static()
	if err != nil {
		t.Fatal(err)
	}
	h := healthHandler(hs2, static)
	check := func(code int, want string) {
		t.Helper()
		w := get(t, h, "GET", "/healthz")
		if w.Code != code || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("want %d with %q, got %d %s", code, want, w.Code, w.Body)
		}
	}
	check(503, "waiting for the first camera frame")
	hs.frameOK()
	hs.setHealthy(true)
	check(200, `"engine":{"backend":"native"}`)
	hs.badFrame()
	check(200, `"bad_frames":1`)
	// Silent camera beyond the stale limit.
	atomic.StoreInt64(hs.word(wLastGood), time.Now().Add(-3*time.Second).UnixNano())
	check(503, "no camera frame for 3")
	hs.frameOK()
	check(200, `"status":"ok"`)
	// The agent stopped running (stopped, hung): no heartbeat.
	atomic.StoreInt64(hs.word(wBeat), time.Now().Add(-2*healthBeatTimeout).UnixNano())
	check(503, "agent not responding")
	hs.heartbeat()
	check(200, `"status":"ok"`)
	hs.setHealthy(false)
	check(503, "camera reconnecting")
	hs.setFatal("camera stdin failed and cannot be reopened: EOF")
	check(503, "cannot be reopened")
	if w := get(t, h, "POST", "/healthz"); w.Code != 405 {
		t.Errorf("POST /healthz: %d", w.Code)
	}
	if _, err := openHealthState(make([]byte, healthPageSize)); err == nil {
		t.Error("an uninitialised page was accepted")
	}
}
