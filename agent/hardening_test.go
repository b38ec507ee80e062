package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startAgent runs an HTTP-only agent on ln (127.0.0.1:0 when nil) and
// returns it with its base URL; it stops at the end of the test.
func startAgent(t *testing.T, cfg Config, ln net.Listener) (*Agent, string) {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Listener = ln
	if cfg.NewRecognizer == nil {
		cfg.NewRecognizer = realRecognizer(t, RecognizerConfig{})
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); a.Addr() == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("agent did not listen")
		}
	}
	scheme := "http"
	if cfg.Security.CertFile != "" {
		scheme = "https"
	}
	return a, scheme + "://" + ln.Addr().String()
}

func do(t *testing.T, c *http.Client, method, url string, body []byte, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// bombPNG is a 16-bit RGBA PNG of w×h pixels (a small file when the image
// is uniform).
func bombPNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA64(image.Rect(0, 0, w, h))
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAdmissionBudgetAndRetryAfter(t *testing.T) {
	a, base := startAgent(t, Config{Limits: Limits{Workers: 1, MaxConns: 64, DecodeBudget: 4 << 20,
		MaxPixels: 16 << 20, MaxUpload: 1 << 20, QueueWait: 100 * time.Millisecond}}, nil)
	photo, err := os.ReadFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	// An image above the whole budget: 413 naming the budget, decoded never.
	resp, body := do(t, nil, "POST", base+"/predict", bombPNG(t, 1024, 1024), "Content-Type", "image/png")
	if resp.StatusCode != 413 || !strings.Contains(body, "decode budget") {
		t.Fatalf("16-bit 1024x1024 PNG (8 MiB decoded) with a 4 MiB budget: %d %s", resp.StatusCode, body)
	}
	// The budget taken by others: 503 with Retry-After after QueueWait.
	a.budget.acquire(context.Background(), 4<<20)
	t0 := time.Now()
	resp, body = do(t, nil, "POST", base+"/predict", photo, "Content-Type", "image/jpeg")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "decode budget") {
		t.Fatalf("budget exhausted: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if waited := time.Since(t0); waited < 100*time.Millisecond {
		t.Fatalf("answered 503 after %v, before the queue wait of 100 ms", waited)
	}
	a.budget.release(4 << 20)
	// The only worker taken: 503 again, then 200 once it is back.
	rec := <-a.pool
	resp, body = do(t, nil, "POST", base+"/predict", photo, "Content-Type", "image/jpeg")
	if resp.StatusCode != 503 || !strings.Contains(body, "worker") {
		t.Fatalf("no worker: %d %s", resp.StatusCode, body)
	}
	a.pool <- rec
	resp, body = do(t, nil, "POST", base+"/predict", photo, "Content-Type", "image/jpeg")
	if resp.StatusCode != 200 {
		t.Fatalf("after: %d %s", resp.StatusCode, body)
	}
	if a.budget.inUse() != 0 {
		t.Fatalf("budget leaked: %d bytes in use", a.budget.inUse())
	}
	_, metrics := do(t, nil, "GET", base+"/metrics", nil)
	for _, want := range []string{`edgecnn_http_predict_rejected_total{reason="too_big"} 1`,
		`edgecnn_http_predict_rejected_total{reason="decode_budget"} 1`, `edgecnn_http_predict_rejected_total{reason="worker"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestBudgetSmallGoesAheadOfLarge(t *testing.T) {
	b := newBudget(100)
	if err := b.acquire(context.Background(), 60); err != nil {
		t.Fatal(err)
	}
	large := make(chan error, 1)
	go func() { large <- b.acquire(context.Background(), 70) }() // must wait
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := b.acquire(ctx, 30); err != nil {
		t.Fatalf("a small request behind a waiting large one: %v", err)
	}
	select {
	case err := <-large:
		t.Fatalf("large request admitted over the budget: %v", err)
	default:
	}
	b.release(60)
	b.release(30)
	if err := <-large; err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(context.Background(), 101); err != errTooBig {
		t.Fatalf("above the whole budget: %v", err)
	}
}

// TestConnectionCapShedsButHealthzPasses fills the connection cap with
// idle connections: a request above it gets 503 with Retry-After at once,
// GET /healthz is still answered.
func TestConnectionCapShedsButHealthzPasses(t *testing.T) {
	_, base := startAgent(t, Config{Limits: Limits{MaxConns: 4}}, nil)
	addr := strings.TrimPrefix(base, "http://")
	var idle []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	time.Sleep(100 * time.Millisecond) // let the server accept them
	nc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, body := do(t, nc, "POST", base+"/predict", []byte("x"), "Content-Type", "image/jpeg")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, "too many connections") {
		t.Fatalf("above the cap: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = do(t, nc, "GET", base+"/healthz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz above the cap: %d %s", resp.StatusCode, body)
	}
	for _, c := range idle {
		c.Close()
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, _ := do(t, nc, "GET", base+"/metrics", nil)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("slots not given back after the idle connections closed")
		}
	}
}

func TestTokenAndHostAllowList(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("s3cret-token-0123456789\n"), 0o600)
	tok, err := ReadTokenFile(tokFile)
	if err != nil || tok != "s3cret-token-0123456789" {
		t.Fatalf("ReadTokenFile: %q %v", tok, err)
	}
	os.WriteFile(filepath.Join(dir, "short"), []byte("abc"), 0o600)
	if _, err := ReadTokenFile(filepath.Join(dir, "short")); err == nil {
		t.Fatal("3-character token accepted")
	}
	_, base := startAgent(t, Config{Security: HTTPSecurity{Token: tok, AllowHosts: []string{"camera.example"}}}, nil)
	for _, path := range []string{"/", "/state", "/frame.jpg", "/metrics"} {
		if resp, _ := do(t, nil, "GET", base+path, nil); resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s without token: %d", path, resp.StatusCode)
		}
		if resp, _ := do(t, nil, "GET", base+path, nil, "Authorization", "Bearer wrong-token-0123456789"); resp.StatusCode != 401 {
			t.Errorf("GET %s with a wrong token: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := do(t, nil, "POST", base+"/predict", []byte("x"), "Content-Type", "image/png"); resp.StatusCode != 401 {
		t.Errorf("POST /predict without token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, nil, "GET", base+"/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("/healthz must stay open: %d", resp.StatusCode)
	}
	if resp, _ := do(t, nil, "GET", base+"/metrics", nil, "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
		t.Errorf("/metrics with the token: %d", resp.StatusCode)
	}
	// The preview page in a browser: ?token= becomes a cookie.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := do(t, noRedirect, "GET", base+"/?token="+tok, nil)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 || !resp.Cookies()[0].HttpOnly {
		t.Fatalf("/?token=: %d cookies %v", resp.StatusCode, resp.Cookies())
	}
	cookie := resp.Cookies()[0]
	if resp, _ := do(t, nil, "GET", base+"/state", nil, "Cookie", cookie.Name+"="+cookie.Value); resp.StatusCode != 200 {
		t.Errorf("/state with the cookie: %d", resp.StatusCode)
	}
	// DNS rebinding: a foreign name in Host is refused, on every path.
	for host, want := range map[string]int{"evil.example": 421, "evil.example:80": 421, "localhost:8080": 200,
		"127.0.0.1": 200, "[::1]:1": 200, "192.168.1.20:8080": 200, "camera.example": 200, "CAMERA.example.": 200} {
		if resp, _ := do(t, nil, "GET", base+"/healthz", nil, "Host", host); resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edgecnn test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSAndNonLoopbackWarning(t *testing.T) {
	cert, key, pool := selfSigned(t, t.TempDir())
	var logBuf bytes.Buffer
	sw := &syncWriter{w: &logBuf, mu: chanMutex{c: make(chan struct{}, 1)}}
	log := slog.New(slog.NewTextHandler(sw, nil))
	_, base := startAgent(t, Config{Security: HTTPSecurity{CertFile: cert, KeyFile: key}, Log: log}, nil)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, body := do(t, c, "GET", base+"/healthz", nil); resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https /healthz: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(sw.text(), "reachable from other machines") {
		t.Fatalf("warning on a loopback address:\n%s", sw.text())
	}
	if _, err := New(Config{NewRecognizer: realRecognizer(t, RecognizerConfig{}), HTTPAddr: "127.0.0.1:0",
		Security: HTTPSecurity{CertFile: cert}}); err == nil {
		t.Fatal("--tls-cert without --tls-key accepted")
	}

	// Listening on all interfaces without a token warns.
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skipf("cannot listen on 0.0.0.0: %v", err)
	}
	sw.reset()
	startAgent(t, Config{Log: log}, ln)
	// The warning is logged as the server starts: wait for it (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sw.text(), "reachable from other machines without authentication") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning for 0.0.0.0:\n%s", sw.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncWriter struct {
	mu chanMutex
	w  io.Writer
}

type chanMutex struct{ c chan struct{} }

// text is what was written so far; reset forgets it (both under the lock).
func (s *syncWriter) text() string {
	s.mu.c <- struct{}{}
	defer func() { <-s.mu.c }()
	return s.w.(*bytes.Buffer).String()
}

func (s *syncWriter) reset() {
	s.mu.c <- struct{}{}
	defer func() { <-s.mu.c }()
	s.w.(*bytes.Buffer).Reset()
}

func (s *syncWriter) Write(p []byte) (int, error) {
	if s.mu.c == nil {
		s.mu.c = make(chan struct{}, 1)
	}
	s.mu.c <- struct{}{}
	defer func() { <-s.mu.c }()
	return s.w.Write(p)
}

func TestConfigNumbersRangeChecked(t *testing.T) {
	rec := realRecognizer(t, RecognizerConfig{})
	for name, c := range map[string]struct {
		cfg  Config
		want string
	}{
		"workers 100000":  {Config{Workers: 100000}, "http-workers 100000 out of range [1, 64]"},
		"smooth -3":       {Config{Smooth: -3}, "smooth -3 out of range [1, 1000]"},
		"smooth 5000":     {Config{Smooth: 5000}, "out of range"},
		"negative upload": {Config{MaxUpload: -1}, "negative"},
		"conns 10^7":      {Config{Limits: Limits{MaxConns: 10_000_000}}, "http-max-conns 10000000 out of range"},
		"budget 1 KiB":    {Config{Limits: Limits{DecodeBudget: 1024}}, "http-decode-budget 1024 out of range"},
		"max frames -1":   {Config{MaxFrames: -1}, "max-frames -1 out of range"},
	} {
		c.cfg.NewRecognizer, c.cfg.HTTPAddr = rec, "127.0.0.1:0"
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	for name, n := range map[string]Numbers{
		"fps NaN": {FPS: math.NaN()}, "fps +Inf": {FPS: math.Inf(1)}, "fps -1": {FPS: -1}, "fps 1e9": {FPS: 1e9},
		"threads 100000": {FPS: 30, Threads: 100000}, "min-confidence 2": {FPS: 30, MinConfidence: 2},
		"min-confidence NaN": {FPS: 30, MinConfidence: math.NaN()}, "memory -5": {FPS: 30, MemoryMiB: -5},
	} {
		if err := n.Check(); err == nil || !strings.Contains(err.Error(), "out of range [") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := (Numbers{FPS: 30, MinConfidence: 0.5}).Check(); err != nil {
		t.Fatal(err)
	}
}

func TestLimitsForOneGiB(t *testing.T) {
	l := LimitsFor(1 << 30)
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	bomb := DecodeCost(4096, 4095, BytesPerPixel(color.RGBA64Model))
	if l.DecodeBudget < bomb || l.DecodeBudget >= 2*bomb {
		t.Fatalf("1 GiB: decode budget %d MiB, want room for exactly one 16-bit 4096x4095 image (%d MiB)", l.DecodeBudget>>20, bomb>>20)
	}
	if GoMemoryLimit(1<<30) > 512<<20 {
		t.Fatalf("GC limit %d above half of 1 GiB", GoMemoryLimit(1<<30))
	}
	if small := LimitsFor(256 << 20); small.Check() != nil || small.DecodeBudget > 64<<20 {
		t.Fatalf("256 MiB board: %+v", small)
	}
	for _, c := range []struct {
		cm   color.Model
		want int64
	}{{color.RGBA64Model, 8}, {color.NRGBA64Model, 8}, {color.RGBAModel, 4}, {color.Gray16Model, 2},
		{color.GrayModel, 1}, {color.Palette{color.Black}, 1}, {color.YCbCrModel, 4}} {
		if got := BytesPerPixel(c.cm); got != c.want {
			t.Errorf("BytesPerPixel(%T) = %d, want %d", c.cm, got, c.want)
		}
	}
}

func TestToLumaMatchesGrayModel(t *testing.T) {
	src := image.NewNRGBA64(image.Rect(3, 5, 40, 30))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 37)
	}
	g := toLuma(src).(*image.Gray)
	for y := src.Rect.Min.Y; y < src.Rect.Max.Y; y++ {
		for x := src.Rect.Min.X; x < src.Rect.Max.X; x++ {
			if want := color.GrayModel.Convert(src.At(x, y)).(color.Gray).Y; g.GrayAt(x, y).Y != want {
				t.Fatalf("(%d,%d): %d, want %d", x, y, g.GrayAt(x, y).Y, want)
			}
		}
	}
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 2))
	if toLuma(rgba) != image.Image(rgba) {
		t.Fatal("RGBA converted, but the preprocessor reads it directly")
	}
}

func TestVerifyModel(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "digits.tflite")
	os.WriteFile(m, []byte("model bytes"), 0o644)
	const sum = "a0c0b5b7ee3d0e1b8c8d5bbd2c0d7a6e6f0f2e5d1d2b8f2e8e3e7ad1d0c6b1a4" // not the sum
	h := fmt.Sprintf("%x", sha256Sum([]byte("model bytes")))
	if how, err := VerifyModel(m, ""); err != nil || how != "" {
		t.Fatalf("no sidecar: %q %v", how, err)
	}
	if how, err := VerifyModel(m, strings.ToUpper(h)); err != nil || how != "flag" {
		t.Fatalf("right flag: %q %v", how, err)
	}
	if _, err := VerifyModel(m, sum); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("wrong flag: %v", err)
	}
	if _, err := VerifyModel(m, "xyz"); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Fatalf("malformed: %v", err)
	}
	os.WriteFile(SumFile(m), []byte(h+"  digits.tflite\n"), 0o644)
	if how, err := VerifyModel(m, ""); err != nil || how != SumFile(m) {
		t.Fatalf("sidecar: %q %v", how, err)
	}
	os.WriteFile(m, []byte("model bytes, tampered"), 0o644)
	if _, err := VerifyModel(m, ""); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("tampered model passed: %v", err)
	}
	os.WriteFile(SumFile(m), []byte(h+"  other.tflite\n"), 0o644)
	if _, err := VerifyModel(m, ""); err == nil || !strings.Contains(err.Error(), "other.tflite") {
		t.Fatalf("sidecar of another file: %v", err)
	}
	// Without a sidecar, the release's SHA256SUMS (what flash installs).
	os.Remove(SumFile(m))
	os.WriteFile(m, []byte("model bytes"), 0o644)
	os.WriteFile(filepath.Join(dir, SumsList), []byte(strings.Repeat("0", 64)+"  edgecnn\n"+h+"  digits.tflite\n"), 0o644)
	if how, err := VerifyModel(m, ""); err != nil || how != filepath.Join(dir, SumsList) {
		t.Fatalf("SHA256SUMS: %q %v", how, err)
	}
	os.WriteFile(m, []byte("model bytes, tampered"), 0o644)
	if _, err := VerifyModel(m, ""); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("tampered model passed SHA256SUMS: %v", err)
	}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// TestLongImageHeaderRefused: metadata before the pixels is buffered only
// up to maxHeader (it is read before the image's size is known).
func TestLongImageHeaderRefused(t *testing.T) {
	photo, err := os.ReadFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(photo[:2]) // SOI
	seg := make([]byte, 65533)
	for i := 0; i < 5; i++ { // 5 APP1 segments: 320 KiB of metadata
		b.Write([]byte{0xff, 0xe1, 0xff, 0xff})
		b.Write(seg)
	}
	b.Write(photo[2:])
	a, base := startAgent(t, Config{}, nil)
	resp, body := do(t, nil, "POST", base+"/predict", b.Bytes(), "Content-Type", "image/jpeg")
	if resp.StatusCode != 413 || !strings.Contains(body, "image header") {
		t.Fatalf("JPEG with 320 KiB of metadata: %d %s", resp.StatusCode, body)
	}
	// The same photo with 64 KiB of metadata is fine.
	ok := append(append(append([]byte(nil), photo[:2]...), 0xff, 0xe1, 0xff, 0xff), append(seg, photo[2:]...)...)
	if resp, body := do(t, nil, "POST", base+"/predict", ok, "Content-Type", "image/jpeg"); resp.StatusCode != 200 {
		t.Fatalf("JPEG with 64 KiB of metadata: %d %s", resp.StatusCode, body)
	}
	if n := a.budget.inUse(); n != 0 {
		t.Fatalf("budget leaked: %d", n)
	}
}
