package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// Trigger blocks until a capture is requested (a button press).
type Trigger interface {
	Wait(ctx context.Context) error
}

// LED shows that a digit was recognized.
type LED interface {
	Set(on bool) error
}

// OpenGPIO initializes periph's host drivers and returns a Trigger for
// the pin named trigger (input, pull-up, falling edge: a button to
// ground) and an LED for the pin named led (output); empty names give
// nil. It is only called when a GPIO flag was given, so any failure is an
// error that names the problem.
func OpenGPIO(trigger, led string) (Trigger, LED, error) {
	if trigger == "" && led == "" {
		return nil, nil, nil
	}
	if _, err := host.Init(); err != nil {
		return nil, nil, fmt.Errorf("agent: gpio: periph host.Init: %w", err)
	}
	return OpenPins(trigger, led)
}

// OpenPins is OpenGPIO without the host drivers' initialization: it looks
// the pins up in periph's registry (gpioreg), where host.Init puts a
// board's pins and tests put gpiotest pins.
func OpenPins(trigger, led string) (Trigger, LED, error) {
	pin := func(name string) (gpio.PinIO, error) {
		p := gpioreg.ByName(name)
		if p == nil {
			var known []string
			for _, q := range gpioreg.All() {
				known = append(known, q.Name())
			}
			sort.Strings(known)
			have := "none: no GPIO driver loaded (not a supported board, or no access to /dev/gpiomem or /sys/class/gpio)"
			if len(known) > 0 {
				if len(known) > 12 {
					known = append(known[:12], "...")
				}
				have = strings.Join(known, ", ")
			}
			return nil, fmt.Errorf("agent: gpio: no pin %q on this machine (pins: %s)", name, have)
		}
		return p, nil
	}
	var t Trigger
	var l LED
	if trigger != "" {
		p, err := pin(trigger)
		if err != nil {
			return nil, nil, err
		}
		if err := p.In(gpio.PullUp, gpio.FallingEdge); err != nil {
			return nil, nil, fmt.Errorf("agent: gpio: %s as input with falling-edge detection: %w", trigger, err)
		}
		t = pinTrigger{p}
	}
	if led != "" {
		p, err := pin(led)
		if err != nil {
			return nil, nil, err
		}
		if err := p.Out(gpio.Low); err != nil {
			return nil, nil, fmt.Errorf("agent: gpio: %s as output: %w", led, err)
		}
		l = pinLED{p}
	}
	return t, l, nil
}

type pinTrigger struct{ p gpio.PinIO }

func (t pinTrigger) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t.p.WaitForEdge(250 * time.Millisecond) {
			return nil
		}
	}
}

type pinLED struct{ p gpio.PinIO }

func (l pinLED) Set(on bool) error { return l.p.Out(gpio.Level(on)) }
