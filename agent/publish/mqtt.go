package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// MQTTConfig configures the MQTT sink.
type MQTTConfig struct {
	// URL is mqtt://[user:pass@]host[:port] (default port 1883) or
	// mqtts://… (TLS, default port 8883).
	URL string
	// CAFile is a PEM bundle of the CAs that sign the broker's certificate
	// (mqtts; default: the system's roots). CertFile and KeyFile are a
	// client certificate, when the broker asks for one.
	CAFile, CertFile, KeyFile string
	// Topic is the prefix: state on Topic/state, availability on
	// Topic/availability (default edgecnn/<hostname>).
	Topic string
	// ID names the device in Home Assistant (unique_id prefix, discovery
	// topic; default: the host name). Letters, digits, _ and - only.
	ID string
	// Discovery is the Home Assistant discovery prefix ("" : no discovery;
	// the CLI uses "homeassistant").
	Discovery string
	// Device is the Home Assistant device block's model and sw_version.
	Model, SWVersion string
	// Timeout bounds connecting and waiting for a PUBACK (default 10 s).
	Timeout time.Duration
	// BackoffMin and BackoffMax bound the reconnect delay (defaults 200 ms, 30 s).
	BackoffMin, BackoffMax time.Duration
	Log                    *slog.Logger
}

// StateTopic is where readings are published (Topic/state).
func (c MQTTConfig) StateTopic() string { return c.Topic + "/state" }

// AvailabilityTopic carries "online" and "offline" (Topic/availability).
func (c MQTTConfig) AvailabilityTopic() string { return c.Topic + "/availability" }

var idRE = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// DefaultID is the device id derived from the host name.
func DefaultID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "edgecnn"
	}
	h, _, _ = strings.Cut(h, ".")
	return idRE.ReplaceAllString(h, "_")
}

// MQTT is the MQTT sink: it keeps one connection (reconnecting with
// backoff), announces itself (availability "online", Home Assistant
// discovery, all retained; a last will sets "offline"), and publishes
// each reading to the state topic with QoS 1, retained.
type MQTT struct {
	cfg    MQTTConfig
	log    *slog.Logger
	client mqtt.Client
	where  string // host:port, for messages (never the credentials)
	tls    bool

	started atomic.Bool

	mu   sync.Mutex
	up   chan struct{} // closed while connected
	lost chan error
	done chan struct{}
}

// NewMQTT validates cfg (the URL, the TLS files) without connecting.
func NewMQTT(cfg MQTTConfig) (*MQTT, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker URL: %w", redact(err, cfg.URL))
	}
	var scheme, port string
	switch u.Scheme {
	case "mqtt", "tcp":
		scheme, port = "tcp", "1883"
	case "mqtts", "ssl", "tls":
		scheme, port = "ssl", "8883"
	default:
		return nil, fmt.Errorf("mqtt: broker URL scheme %q: want mqtt:// or mqtts://", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("mqtt: broker URL has no host (want mqtt://[user:pass@]host:port)")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("mqtt: broker URL has a path %q; set the topic with --mqtt-topic", u.Path)
	}
	if scheme == "tcp" && (cfg.CAFile != "" || cfg.CertFile != "") {
		return nil, errors.New("mqtt: --mqtt-ca/--mqtt-cert need an mqtts:// broker URL")
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("mqtt: --mqtt-cert and --mqtt-key go together")
	}
	if cfg.ID == "" {
		cfg.ID = DefaultID()
	}
	if idRE.MatchString(cfg.ID) {
		return nil, fmt.Errorf("mqtt: device id %q: use letters, digits, _ and - only", cfg.ID)
	}
	if cfg.Topic == "" {
		cfg.Topic = "edgecnn/" + cfg.ID
	}
	cfg.Topic = strings.TrimSuffix(cfg.Topic, "/")
	if strings.ContainsAny(cfg.Topic, "#+\x00") || cfg.Topic == "" {
		return nil, fmt.Errorf("mqtt: topic prefix %q: no wildcards (#, +)", cfg.Topic)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 200 * time.Millisecond
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(30*time.Second, cfg.BackoffMin)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := &MQTT{cfg: cfg, log: cfg.Log, where: net.JoinHostPort(u.Hostname(), port),
		up: make(chan struct{}), lost: make(chan error, 1), done: make(chan struct{})}
	opts := mqtt.NewClientOptions().
		AddBroker(scheme+"://"+m.where).
		SetClientID("edgecnn-"+cfg.ID).
		SetCleanSession(true).
		SetAutoReconnect(false). // reconnecting is ours: see run
		SetConnectRetry(false).
		SetConnectTimeout(cfg.Timeout).
		SetWriteTimeout(cfg.Timeout).
		SetKeepAlive(30*time.Second).
		SetPingTimeout(cfg.Timeout).
		SetWill(cfg.AvailabilityTopic(), "offline", 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case m.lost <- err:
			default:
			}
		})
	if u.User != nil {
		opts.SetUsername(u.User.Username())
		if p, ok := u.User.Password(); ok {
			opts.SetPassword(p)
		}
	}
	if scheme == "ssl" {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
		m.tls = true
	}
	m.client = mqtt.NewClient(opts)
	return m, nil
}

func tlsConfig(cfg MQTTConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: --mqtt-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: --mqtt-ca %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: --mqtt-cert/--mqtt-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

// redact keeps a URL's password out of an error message.
func redact(err error, raw string) error {
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		return errors.New(strings.ReplaceAll(err.Error(), raw, u.Redacted()))
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		return errors.New(strings.ReplaceAll(err.Error(), raw[:i], "…"))
	}
	return err
}

// Name implements Sink.
func (m *MQTT) Name() string { return "mqtt" }

// Config is the sink's configuration with the defaults filled in.
func (m *MQTT) Config() MQTTConfig { return m.cfg }

// Start connects in the background and keeps reconnecting until ctx ends.
func (m *MQTT) Start(ctx context.Context) {
	m.started.Store(true)
	go m.run(ctx)
}

func (m *MQTT) run(ctx context.Context) {
	defer close(m.done)
	backoff := m.cfg.BackoffMin
	logged := map[string]bool{} // kinds of failure logged during this outage
	for ctx.Err() == nil {
		kind, err := m.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// One line per kind of failure and outage, not one per retry.
			if !logged[kind] {
				m.log.Error("mqtt: "+err.Error()+"; retrying with backoff (readings stay queued)", "broker", m.where)
				logged[kind] = true
			} else {
				m.log.Debug("mqtt: connect failed", "err", err, "in", backoff)
			}
			if !sleep(ctx, jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, m.cfg.BackoffMax)
			continue
		}
		clear(logged)
		backoff = m.cfg.BackoffMin
		m.log.Info("mqtt: connected", "broker", m.where, "topic", m.cfg.Topic)
		m.mu.Lock()
		close(m.up)
		m.mu.Unlock()
		var lostErr error
		select {
		case <-ctx.Done():
		case lostErr = <-m.lost:
		}
		m.mu.Lock()
		m.up = make(chan struct{})
		m.mu.Unlock()
		if ctx.Err() != nil {
			break
		}
		m.log.Warn("mqtt: connection lost; reconnecting (readings stay queued)", "broker", m.where, "err", lostErr)
	}
	if m.client.IsConnectionOpen() {
		// A clean goodbye: the will is not sent on DISCONNECT, so say it.
		t := m.client.Publish(m.cfg.AvailabilityTopic(), 1, true, "offline")
		t.WaitTimeout(time.Second)
		m.client.Disconnect(250)
	}
}

// connect makes one connection attempt and announces the device. On
// failure, kind names the kind of failure (for logging each kind once).
func (m *MQTT) connect(ctx context.Context) (kind string, err error) {
	select {
	case <-m.lost: // a stale loss from the previous connection
	default:
	}
	t := m.client.Connect()
	if err := wait(ctx, t, m.cfg.Timeout+time.Second); err != nil {
		kind, err := describeConnErr(err)
		if kind == "reset" && m.tls {
			// Over TLS 1.3 a refused client certificate often shows as a
			// reset rather than the alert.
			return "tls-alert", fmt.Errorf("%w: does the broker require a client certificate (--mqtt-cert, --mqtt-key) signed by a CA it trusts?", err)
		}
		return kind, err
	}
	for _, a := range m.announcements() {
		if err := wait(ctx, m.client.Publish(a.topic, 1, true, a.payload), m.cfg.Timeout); err != nil {
			m.client.Disconnect(0)
			return "announce", fmt.Errorf("announcing on %s: %w", a.topic, err)
		}
	}
	return "", nil
}

// describeConnErr turns paho's connect errors into one line saying what
// to fix.
func describeConnErr(err error) (kind string, _ error) {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce *tls.CertificateVerificationError
	var ae tls.AlertError
	var oe *net.OpError
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return "auth", fmt.Errorf("broker refused the login (%w): check the user and password in --mqtt", err)
	case errors.As(err, &ue), errors.As(err, &he), errors.As(err, &ce):
		return "tls", fmt.Errorf("broker's TLS certificate not accepted (%w): check --mqtt-ca and the host name in --mqtt", err)
	case errors.As(err, &ae), strings.Contains(err.Error(), "remote error: tls:"):
		return "tls-alert", fmt.Errorf("broker refused the TLS handshake (%w): does it require a client certificate (--mqtt-cert, --mqtt-key) signed by a CA it trusts?", err)
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return "id", fmt.Errorf("broker rejected the client id (%w)", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused", fmt.Errorf("cannot connect: nothing listens at the broker's address (%w)", err)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset", fmt.Errorf("cannot connect: the broker closed the connection (%w)", err)
	case errors.As(err, &oe):
		return "net-" + oe.Op, fmt.Errorf("cannot connect: %w", err)
	}
	return "other", fmt.Errorf("cannot connect: %w", err)
}

func wait(ctx context.Context, t mqtt.Token, timeout time.Duration) error {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-tm.C:
		return errors.New("timed out")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deliver implements Sink: it waits for the connection, publishes payload
// on the state topic (QoS 1, retained) and returns once the broker
// acknowledged it (PUBACK).
func (m *MQTT) Deliver(ctx context.Context, payload []byte) error {
	m.mu.Lock()
	up := m.up
	m.mu.Unlock()
	select {
	case <-up:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := wait(ctx, m.client.Publish(m.cfg.StateTopic(), 1, true, payload), m.cfg.Timeout); err != nil {
		return fmt.Errorf("mqtt publish: %w", err)
	}
	return nil
}

// Close waits for the connection to end (Start's ctx must be done).
func (m *MQTT) Close() error {
	if !m.started.Load() {
		return nil
	}
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		return errors.New("mqtt: connection did not close")
	}
	return nil
}

// Discovery is one Home Assistant MQTT discovery message (the sensor
// platform's config payload).
type Discovery struct {
	Name                string          `json:"name"`
	UniqueID            string          `json:"unique_id"`
	ObjectID            string          `json:"object_id,omitempty"`
	StateTopic          string          `json:"state_topic"`
	ValueTemplate       string          `json:"value_template"`
	AvailabilityTopic   string          `json:"availability_topic"`
	PayloadAvailable    string          `json:"payload_available"`
	PayloadNotAvailable string          `json:"payload_not_available"`
	UnitOfMeasurement   string          `json:"unit_of_measurement,omitempty"`
	StateClass          string          `json:"state_class,omitempty"`
	Icon                string          `json:"icon,omitempty"`
	JSONAttrTopic       string          `json:"json_attributes_topic,omitempty"`
	QoS                 int             `json:"qos"`
	Device              DiscoveryDevice `json:"device"`
}

// DiscoveryDevice is the device block shared by the sensors.
type DiscoveryDevice struct {
	Identifiers  []string `json:"identifiers"`
	Name         string   `json:"name"`
	Model        string   `json:"model,omitempty"`
	Manufacturer string   `json:"manufacturer"`
	SWVersion    string   `json:"sw_version,omitempty"`
}

// DiscoveryTopic is where the discovery message of the sensor object
// ("reading", "confidence") is published.
func (c MQTTConfig) DiscoveryTopic(object string) string {
	return c.Discovery + "/sensor/" + c.ID + "_" + object + "/config"
}

type announcement struct{ topic, payload string }

// announcements are the retained messages sent after each connect: the
// discovery messages, then availability "online".
func (m *MQTT) announcements() []announcement {
	online := announcement{m.cfg.AvailabilityTopic(), "online"}
	if m.cfg.Discovery == "" {
		return []announcement{online}
	}
	dev := DiscoveryDevice{Identifiers: []string{"edgecnn_" + m.cfg.ID}, Name: "edgecnn " + m.cfg.ID,
		Model: m.cfg.Model, Manufacturer: "edgecnn", SWVersion: m.cfg.SWVersion}
	base := Discovery{StateTopic: m.cfg.StateTopic(), AvailabilityTopic: m.cfg.AvailabilityTopic(),
		PayloadAvailable: "online", PayloadNotAvailable: "offline", QoS: 1, Device: dev}
	reading := base
	reading.Name, reading.UniqueID = "Reading", m.cfg.ID+"_reading"
	reading.ValueTemplate = "{{ value_json.digits }}"
	reading.Icon = "mdi:counter"
	reading.JSONAttrTopic = m.cfg.StateTopic() // time, seq, model, reason as attributes
	conf := base
	conf.Name, conf.UniqueID = "Confidence", m.cfg.ID+"_confidence"
	conf.ValueTemplate = "{{ (value_json.confidence * 100) | round(1) }}"
	conf.UnitOfMeasurement, conf.StateClass, conf.Icon = "%", "measurement", "mdi:percent"
	var out []announcement
	for _, d := range []struct {
		obj string
		d   Discovery
	}{{"reading", reading}, {"confidence", conf}} {
		b, _ := json.Marshal(d.d)
		out = append(out, announcement{m.cfg.DiscoveryTopic(d.obj), string(b)})
	}
	return append(out, online)
}
