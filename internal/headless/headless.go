// Package headless drives a real headless Chromium for tests of the web
// pages: it speaks the Chrome DevTools Protocol over --remote-debugging-pipe
// (NUL-separated JSON on file descriptors 3 and 4, no network port), so a
// test can evaluate JavaScript in a page and send real key presses through
// the browser's input pipeline (Input.dispatchKeyEvent).
package headless

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Binary is the Chromium the package starts (Debian's chromium package).
const Binary = "/usr/bin/chromium"

// Browser is a running headless Chromium with one page attached.
type Browser struct {
	cmd     *exec.Cmd
	w       io.WriteCloser
	session string

	mu      sync.Mutex
	next    int
	waiting map[int]chan reply
	err     error
	done    chan struct{}
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Start launches Chromium on url with a fresh profile in profileDir and
// attaches to its page. Close stops it.
func Start(ctx context.Context, profileDir, url string, extraArgs ...string) (*Browser, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("headless: %w (install the chromium package: make deps)", err)
	}
	toChrome, ourW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ourR, fromChrome, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--remote-debugging-pipe", "--user-data-dir=" + profileDir}, extraArgs...)
	args = append(args, url)
	cmd := exec.Command(Binary, args...)
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fd 3: commands in, fd 4: replies out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("headless: %w", err)
	}
	toChrome.Close()
	fromChrome.Close()
	b := &Browser{cmd: cmd, w: ourW, waiting: map[int]chan reply{}, done: make(chan struct{})}
	go b.read(ourR)
	if err := b.attach(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Browser) read(r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("headless: chromium closed the pipe: %w", err)
			for _, ch := range b.waiting {
				close(ch)
			}
			b.waiting = map[int]chan reply{}
			b.mu.Unlock()
			close(b.done)
			return
		}
		var m struct {
			ID int `json:"id"`
			reply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		delete(b.waiting, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.reply
		}
	}
}

// Call sends one DevTools command to the page (or to the browser before
// attaching) and decodes its result into out (nil: ignore it).
func (b *Browser) Call(ctx context.Context, method string, params any, out any) error {
	ch := make(chan reply, 1)
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return b.err
	}
	b.next++
	id := b.next
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if b.session != "" {
		msg["sessionId"] = b.session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return fmt.Errorf("headless: %s: %w", method, err)
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("headless: %s: %w", method, ctx.Err())
	case r, ok := <-ch:
		if !ok {
			return b.err
		}
		if r.Error != nil {
			return &CallError{Method: method, Message: r.Error.Message, Code: r.Error.Code}
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	}
}

func (b *Browser) attach(ctx context.Context) error {
	for {
		var res struct {
			TargetInfos []struct {
				TargetID string `json:"targetId"`
				Type     string `json:"type"`
			} `json:"targetInfos"`
		}
		if err := b.Call(ctx, "Target.getTargets", nil, &res); err != nil {
			return err
		}
		for _, t := range res.TargetInfos {
			if t.Type == "page" {
				var at struct {
					SessionID string `json:"sessionId"`
				}
				if err := b.Call(ctx, "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &at); err != nil {
					return err
				}
				b.session = at.SessionID
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("headless: no page target: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its value into out (nil: ignore it).
func (b *Browser) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := b.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if err != nil {
		return err
	}
	if e := res.ExceptionDetails; e != nil {
		return fmt.Errorf("headless: %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out != nil && res.Result.Value != nil {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// CallError is an error answer of the DevTools protocol to a call.
type CallError struct {
	Method, Message string
	Code            int
}

func (e *CallError) Error() string {
	return fmt.Sprintf("headless: %s: %s (%d)", e.Method, e.Message, e.Code)
}

// navigating reports whether err is the answer Chromium gives to an
// evaluation whose page navigated away or whose context was replaced
// meanwhile: the next evaluation runs in the new document.
func navigating(err error) bool {
	var ce *CallError
	return errors.As(err, &ce) && ce.Code == -32000 &&
		(strings.Contains(ce.Message, "navigated or closed") || strings.Contains(ce.Message, "context was destroyed"))
}

// WaitFor evaluates expr until it is true or ctx ends. An evaluation cut
// short by a navigation is evaluated again in the new page.
func (b *Browser) WaitFor(ctx context.Context, expr string) error {
	for {
		var ok bool
		if err := b.Eval(ctx, "!!("+expr+")", &ok); err != nil && !navigating(err) {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("headless: waiting for %s: %w", expr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// keys maps the keys tests press to their DOM code and Windows key code.
var keys = map[string]struct {
	code string
	vk   int
}{" ": {"Space", 32}, "ArrowLeft": {"ArrowLeft", 37}, "ArrowRight": {"ArrowRight", 39}, "Enter": {"Enter", 13}}

// Press sends a real key press (keyDown with its text, then keyUp) through
// Chromium's input pipeline: a digit, a lower-case letter, " ", Enter or
// an arrow key.
func (b *Browser) Press(ctx context.Context, key string) error {
	code, vk, text := "", 0, key
	switch {
	case len(key) == 1 && key[0] >= '0' && key[0] <= '9':
		code, vk = "Digit"+key, int(key[0])
	case len(key) == 1 && key[0] >= 'a' && key[0] <= 'z':
		code, vk = "Key"+string(key[0]-32), int(key[0]-32)
	default:
		k, ok := keys[key]
		if !ok {
			return fmt.Errorf("headless: key %q not supported", key)
		}
		code, vk = k.code, k.vk
		if key != " " {
			text = ""
			if key == "Enter" {
				text = "\r"
			}
		}
	}
	down := map[string]any{"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
	if text != "" {
		down["text"] = text
	}
	if err := b.Call(ctx, "Input.dispatchKeyEvent", down, nil); err != nil {
		return err
	}
	return b.Call(ctx, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": code,
		"windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}, nil)
}

// Close stops Chromium (Browser.close, then a kill if it lingers).
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b.session = ""
	b.Call(ctx, "Browser.close", nil, nil)
	b.w.Close()
	select {
	case <-b.done:
	case <-time.After(3 * time.Second):
	}
	waited := make(chan error, 1)
	go func() { waited <- b.cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(3 * time.Second):
		b.cmd.Process.Kill()
		<-waited
	}
	return nil
}
