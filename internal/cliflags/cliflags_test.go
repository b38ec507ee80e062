package cliflags

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

type engine struct {
	Backend string `flag:"backend" usage:"runtime backend ({list})" env:"CLIFLAGS_TEST_BACKEND" default:"native"`
	Threads int    `flag:"threads"` // declared by the command
}

func (engine) UsageVars() map[string]string { return map[string]string{"list": "a, b"} }

type options struct {
	Engine   engine
	Model    string         `flag:"model" alias:"m" usage:"model file" required:"true"`
	Report   string         `flag:"report" usage:"write the report to PATH" placeholder:"PATH"`
	Count    int            `flag:"count" usage:"how many" default:"3"`
	Big      int64          `flag:"big" usage:"bytes" default:"8388608"`
	Seed     uint64         `flag:"seed" usage:"seed"`
	Rate     float64        `flag:"rate" usage:"rate"`
	Wait     time.Duration  `flag:"wait" usage:"wait" default:"10s"`
	On       bool           `flag:"on" usage:"switch"`
	Hosts    []string       `flag:"host" usage:"hosts"`
	Data     []string       `flag:"data" usage:"sources" default:"a,b"`
	Workers  *int           `flag:"workers" usage:"workers (nil: derived)"`
	Queue    *time.Duration `flag:"queue" usage:"queue wait (nil: derived)"`
	Secret   string         `flag:"secret" usage:"hidden" hidden:"true"`
	AnySet   bool           `set:"count,rate"`
	FirstSet string         `set:"seed,rate,count"`
	Ignored  int
}

// run parses args with the flags of a fresh options value and returns it.
func run(t *testing.T, args ...string) (*options, string, error) {
	t.Helper()
	var o options
	var help bytes.Buffer
	app := &cli.App{Name: "x", Writer: &help, ErrWriter: &help, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{
			Name:   "cmd",
			Flags:  Flags(&o, Usage("rate", "events per second"), With(&cli.IntFlag{Name: "threads", Value: 2, Usage: "goroutines"})),
			Action: Action(&o, func(*cli.Context) error { return nil }),
		}}}
	err := app.RunContext(context.Background(), append([]string{"x", "cmd"}, args...))
	return &o, help.String(), err
}

func TestLoadDefaults(t *testing.T) {
	o, _, err := run(t, "-m", "a.tflite")
	if err != nil {
		t.Fatal(err)
	}
	want := options{Engine: engine{Backend: "native", Threads: 2}, Model: "a.tflite", Count: 3, Big: 8 << 20,
		Wait: 10 * time.Second, Data: []string{"a", "b"}}
	if !reflect.DeepEqual(*o, want) {
		t.Fatalf("got %+v\nwant %+v", *o, want)
	}
}

func TestLoadValues(t *testing.T) {
	t.Setenv("CLIFLAGS_TEST_BACKEND", "tflite")
	o, _, err := run(t, "--model", "m", "--report", "r.html", "--count", "0", "--big", "5", "--seed", "18446744073709551615",
		"--rate", "0.5", "--wait", "1m", "--on", "--host", "h1", "--host", "h2,h3", "--data", "z", "--workers", "0",
		"--queue", "2s", "--threads", "7", "--secret", "s")
	if err != nil {
		t.Fatal(err)
	}
	zero, q := 0, 2*time.Second
	want := options{Engine: engine{Backend: "tflite", Threads: 7}, Model: "m", Report: "r.html", Count: 0, Big: 5,
		Seed: 1<<64 - 1, Rate: 0.5, Wait: time.Minute, On: true, Hosts: []string{"h1", "h2", "h3"}, Data: []string{"z"},
		Workers: &zero, Queue: &q, Secret: "s", AnySet: true, FirstSet: "seed"}
	if !reflect.DeepEqual(*o, want) {
		t.Fatalf("got %+v\nwant %+v", *o, want)
	}
}

func TestSetTags(t *testing.T) {
	o, _, err := run(t, "--model", "m", "--rate", "1", "--count", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !o.AnySet || o.FirstSet != "rate" {
		t.Fatalf("AnySet %v FirstSet %q, want true rate", o.AnySet, o.FirstSet)
	}
	if o, _, _ = run(t, "--model", "m", "--on"); o.AnySet || o.FirstSet != "" || o.Workers != nil || o.Queue != nil {
		t.Fatalf("nothing set: got %+v", *o)
	}
}

func TestRequiredAndBadValues(t *testing.T) {
	if _, _, err := run(t); err == nil || !strings.Contains(err.Error(), "model") {
		t.Fatalf("missing --model: err %v", err)
	}
	if _, _, err := run(t, "--model", "m", "--count", "x"); err == nil {
		t.Fatal("--count x accepted")
	}
}

func TestHelp(t *testing.T) {
	_, help, err := run(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--model value, -m value", "runtime backend (a, b)", "--report PATH", "write the report to PATH", "events per second",
		"(default: 3)", "(default: 10s)", `(default: "a", "b")`, "[$CLIFLAGS_TEST_BACKEND]", `(default: "native")`,
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "secret") {
		t.Errorf("hidden flag in help:\n%s", help)
	}
}

func TestDeclaredTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a flag declared twice")
		}
	}()
	var o struct {
		A string `flag:"a" usage:"one"`
		B string `flag:"a" usage:"two"`
	}
	Flags(&o)
}

func TestUnsupportedTypePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an unsupported type")
		}
	}()
	var o struct {
		A []int `flag:"a" usage:"ints"`
	}
	Flags(&o)
}

func TestUndeclaredReferencePanics(t *testing.T) {
	for name, v := range map[string]any{
		"flag": &struct {
			Threads int `flag:"threads"`
		}{},
		"set": &struct {
			Given bool `set:"memory"`
		}{},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic for a field reading an undeclared flag", name)
				}
			}()
			Flags(v)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic for Usage of an undeclared flag")
			}
		}()
		var o struct {
			A int `flag:"a" usage:"a"`
		}
		Flags(&o, Usage("b", "typo"))
	}()
	var ok struct {
		Threads int  `flag:"threads"`
		Given   bool `set:"threads"`
	}
	if fs := Flags(&ok, With(&cli.IntFlag{Name: "threads"})); len(fs) != 1 {
		t.Fatalf("%d flags, want the With one", len(fs))
	}
}

func TestPrefix(t *testing.T) {
	var o struct {
		Data []string `flag:"data" usage:"; repeat to mix"`
	}
	fs := Flags(&o, Prefix("data", "training data"))
	if u := fs[0].(*cli.StringSliceFlag).Usage; u != "training data; repeat to mix" {
		t.Fatalf("usage %q", u)
	}
}
