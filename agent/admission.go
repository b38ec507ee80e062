package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// budget is a counting semaphore of bytes. Unlike a FIFO semaphore, a small
// request that fits goes ahead of a large one that does not, so one huge
// image waiting for room never holds up ordinary photos.
type budget struct {
	mu    sync.Mutex
	size  int64
	used  int64
	freed chan struct{} // closed and replaced on every release
}

func newBudget(size int64) *budget {
	return &budget{size: size, freed: make(chan struct{})}
}

var errTooBig = errors.New("request exceeds the whole budget")

// acquire reserves n bytes, waiting until they are free or ctx ends.
func (b *budget) acquire(ctx context.Context, n int64) error {
	if n > b.size {
		return errTooBig
	}
	for {
		b.mu.Lock()
		if b.used+n <= b.size {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		ch := b.freed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// guardListener caps the connections the HTTP server holds. Up to max
// connections are handed to the server; one above it is answered by a
// small goroutine that reads its request line: GET /healthz is served
// anyway (health checks must get through a flood), anything else gets 503
// with Retry-After and is closed. At most 4·max connections are being shed
// at once; beyond that they are closed unread. Accept never waits for a
// slot, so the kernel's backlog drains and a health check is never stuck
// behind a flood.
type guardListener struct {
	net.Listener
	slots    chan struct{}
	shedSem  chan struct{}
	shed     atomic.Uint64 // connections answered 503 or closed unread
	open     atomic.Int64  // connections currently held by the server
	onShed   func()
	tls      bool             // connections speak TLS: shed them unread
	serveOne func(c net.Conn) // serves a /healthz connection above the cap
}

func newGuardListener(l net.Listener, max int, onShed func()) *guardListener {
	return &guardListener{Listener: l, slots: make(chan struct{}, max), shedSem: make(chan struct{}, 4*max), onShed: onShed}
}

func (g *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err // net/http backs off on temporary errors (EMFILE)
		}
		select {
		case g.slots <- struct{}{}:
			g.open.Add(1)
			return &slotConn{Conn: c, g: g}, nil
		default:
		}
		g.shed.Add(1)
		if g.onShed != nil {
			g.onShed()
		}
		select {
		case g.shedSem <- struct{}{}:
			go g.shedConn(c)
		default:
			c.Close()
		}
	}
}

var healthzLine = []byte("GET /healthz ")

// busyResponse is what a connection above the cap gets.
const busyResponse = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 56\r\n\r\n" +
	`{"error":"too many connections; retry after 1 second"}` + "\n\n"

func (g *guardListener) shedConn(c net.Conn) {
	defer func() { <-g.shedSem }()
	if g.tls || g.serveOne == nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReaderSize(c, 64)
	head, err := br.Peek(len(healthzLine))
	if err == nil && bytes.Equal(head, healthzLine) {
		c.SetDeadline(time.Time{})
		g.serveOne(&peekedConn{Conn: c, r: br})
		return
	}
	c.Write([]byte(busyResponse))
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		// Drain a little of the request so the close does not reset the
		// connection before the client read the answer.
		br.Discard(16 << 10)
	}
	c.Close()
}

// oneConnListener hands out one connection, then reports io.EOF: serving
// it with http.Server.Serve serves that connection alone.
type oneConnListener struct {
	c    net.Conn
	addr net.Addr
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if c := l.c; c != nil {
		l.c = nil
		return c, nil
	}
	return nil, io.EOF
}
func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.addr }

// slotConn gives its slot back when closed.
type slotConn struct {
	net.Conn
	g    *guardListener
	once sync.Once
}

func (c *slotConn) Close() error {
	c.once.Do(func() {
		c.g.open.Add(-1)
		<-c.g.slots
	})
	return c.Conn.Close()
}

// peekedConn replays the bytes read while deciding whether to shed it.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// toLuma converts images that the preprocessor would read pixel by pixel
// through image.Image.At (16-bit PNGs, paletted GIFs, CMYK JPEGs, ...) to
// 8-bit gray with the same formula as color.GrayModel, without allocating
// per pixel; the decoded original can then be freed before recognition.
// Gray, Y'CbCr, RGBA and NRGBA images, which the preprocessor reads
// directly, are returned as they are.
func toLuma(img image.Image) image.Image {
	switch img.(type) {
	case *image.Gray, *image.YCbCr, *image.RGBA, *image.NRGBA:
		return img
	}
	src, ok := img.(image.RGBA64Image)
	if !ok {
		return img
	}
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := g.Pix[(y-b.Min.Y)*g.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			c := src.RGBA64At(x, y)
			row[x-b.Min.X] = uint8((19595*uint32(c.R) + 38470*uint32(c.G) + 7471*uint32(c.B) + 1<<15) >> 24)
		}
	}
	return g
}

// maxHeader bounds what /predict buffers of an image before it knows the
// image's size: the bytes image.DecodeConfig reads (a JPEG's metadata
// segments, a PNG's chunks before IHDR).
const maxHeader = 256 << 10

// capBuffer is a bytes.Buffer that refuses to grow beyond max bytes.
type capBuffer struct {
	bytes.Buffer
	max  int
	full bool
}

var errHeaderTooLong = errors.New("image header too long")

func (b *capBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.full = true
		return 0, errHeaderTooLong
	}
	return b.Buffer.Write(p)
}
