package publish_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/edgecnn/edgecnn/agent/publish"
	"github.com/edgecnn/edgecnn/agent/publish/mosquittotest"
	"github.com/edgecnn/edgecnn/agent/publish/sinktest"
)

type inbox struct {
	mu  sync.Mutex
	got []string
}

func (b *inbox) add(p string) { b.mu.Lock(); b.got = append(b.got, p); b.mu.Unlock() }
func (b *inbox) received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.got...)
}

func TestWebhookContract(t *testing.T) {
	var in inbox
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		in.add(string(b))
	}))
	defer srv.Close()
	sinktest.Run(t, func(t *testing.T) publish.Sink {
		w, err := publish.NewWebhook(publish.WebhookConfig{URL: srv.URL, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}, sinktest.Far{Received: in.received})
}

func TestMQTTContract(t *testing.T) {
	b := mosquittotest.New(t, mosquittotest.Options{})
	var in inbox
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL("", "")).SetClientID("contract-sub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	if tok := c.Subscribe("edgecnn/contract/state", 1, func(_ mqtt.Client, m mqtt.Message) {
		if !m.Retained() {
			in.add(string(m.Payload()))
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	sinktest.Run(t, func(t *testing.T) publish.Sink {
		m, err := publish.NewMQTT(publish.MQTTConfig{URL: b.URL("", ""), ID: "contract", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}, sinktest.Far{Received: in.received})
}
