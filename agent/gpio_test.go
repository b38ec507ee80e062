package agent

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// The trigger and LED logic through periph's registry with gpiotest pins:
// a falling edge on the button pin captures one frame, the LED pin goes
// high when a digit is recognized and low when the agent stops.
func TestGPIOPinsDriveAgent(t *testing.T) {
	btn := &gpiotest.Pin{N: "EDGECNN_TEST_BTN", Num: 917, EdgesChan: make(chan gpio.Level, 4)}
	ledPin := &gpiotest.Pin{N: "EDGECNN_TEST_LED", Num: 918}
	for _, p := range []*gpiotest.Pin{btn, ledPin} {
		if err := gpioreg.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		gpioreg.Unregister(btn.N)
		gpioreg.Unregister(ledPin.N)
	})
	trig, led, err := OpenPins(btn.N, ledPin.N)
	if err != nil {
		t.Fatal(err)
	}
	if btn.Pull() != gpio.PullUp || ledPin.Read() != gpio.Low {
		t.Fatalf("button pull %v (want up), LED %v (want low)", btn.Pull(), ledPin.Read())
	}
	rng := rand.New(rand.NewPCG(2, 2))
	var seq atomic.Uint64
	src := &funcSource{next: func() (camera.Frame, error) {
		time.Sleep(2 * time.Millisecond)
		img, d := camera.SyntheticFrame(96, 72, rng)
		return camera.Frame{Image: img, Seq: seq.Add(1), Time: time.Now(), Truth: fmt.Sprint(d)}, nil
	}}
	var out syncBuffer
	var ledHigh atomic.Bool
	a, err := New(Config{
		OpenCamera:    func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: realRecognizer(t, RecognizerConfig{MinConfidence: 0.01}),
		MaxFrames:     1, Out: &out, Trigger: trig, LED: ledWatch{led, ledPin, &ledHigh},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- a.Run(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("agent ended before the button was pressed: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if out.Len() != 0 {
		t.Fatal("a frame was processed without a press")
	}
	btn.EdgesChan <- gpio.Low // the button pulls the pin to ground
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ls := readLines(t, out.Bytes()); len(ls) != 1 || !strings.Contains(string(bytes.TrimSpace(out.Bytes())), `"digits"`) {
		t.Fatalf("after one press: %q", out.Bytes())
	}
	if !ledHigh.Load() {
		t.Error("the LED pin never went high for a recognized digit")
	}
	if ledPin.Read() != gpio.Low {
		t.Error("the LED pin is still high after the agent stopped")
	}
	if _, _, err := OpenPins("EDGECNN_NO_SUCH_PIN", ""); err == nil || !strings.Contains(err.Error(), "EDGECNN_NO_SUCH_PIN") {
		t.Errorf("unknown pin: %v", err)
	}
}

// ledWatch records whether the pin was ever high while passing Set on.
type ledWatch struct {
	LED
	pin  *gpiotest.Pin
	high *atomic.Bool
}

func (l ledWatch) Set(on bool) error {
	err := l.LED.Set(on)
	if l.pin.Read() == gpio.High {
		l.high.Store(true)
	}
	return err
}
