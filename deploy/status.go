package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// StatusOptions configure a fleet status query.
type StatusOptions struct {
	// The tags declare edgecnn status's flags (package cliflags).

	// Prefix is the install prefix on the boards (default /opt/edgecnn).
	Prefix string `flag:"prefix" default:"/opt/edgecnn" usage:"install prefix on the boards"`
	// HTTP is the agent's address on the board (default 127.0.0.1:8080).
	HTTP string `flag:"http" default:"127.0.0.1:8080" usage:"the agent's HTTP address on the boards"`
	Unit string // systemd unit (default edgecnn.service)
	// Systemctl is the systemctl command on the board (default systemctl).
	Systemctl string `flag:"systemctl" default:"systemctl" hidden:"true" usage:"systemctl command on the board"`
	// Timeout bounds each board, connect to last answer (default 10s).
	Timeout time.Duration `flag:"timeout" default:"10s" usage:"per board: longer and it counts as offline"`
	// Parallel is how many boards are asked at once (0: all).
	Parallel int `flag:"parallel" default:"32" usage:"boards asked at once"`
}

func (o StatusOptions) withDefaults() StatusOptions {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.HTTP == "" {
		o.HTTP = "127.0.0.1:8080"
	}
	if o.Unit == "" {
		o.Unit = "edgecnn.service"
	}
	if o.Systemctl == "" {
		o.Systemctl = "systemctl"
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return o
}

// Reading is the agent's last reading (its GET /state).
type Reading struct {
	Digits     string    `json:"digits"`
	Confidence float64   `json:"confidence"`
	Time       time.Time `json:"time"`
	Seq        uint64    `json:"seq"`
}

// BoardStatus is one board's row.
type BoardStatus struct {
	Target   string   `json:"target"`
	Address  string   `json:"address"`
	Online   bool     `json:"online"`
	Release  string   `json:"release,omitempty"`  // what PREFIX/current points at
	Version  string   `json:"version,omitempty"`  // the release's version part
	Releases []string `json:"releases,omitempty"` // releases on the board
	Service  string   `json:"service,omitempty"`  // systemctl is-active: active, failed, inactive…
	Healthy  bool     `json:"healthy"`            // /healthz answered 2xx
	Health   string   `json:"health,omitempty"`   // "ok" or why not
	Model    string   `json:"model,omitempty"`    // model file of the release and its SHA-256
	Reading  *Reading `json:"reading,omitempty"`  // last reading (nil: none or unreachable)
	Error    string   `json:"error,omitempty"`    // why the board could not be asked
	Seconds  float64  `json:"seconds"`
}

// FleetStatus asks every target, in parallel, for its release, service
// state, health (/healthz fetched through the SSH connection, as flash's
// health check does), model and last reading (/state). A board that does
// not answer within the timeout is reported offline; the others carry on.
func FleetStatus(ctx context.Context, targets []Target, ssh SSHOptions, o StatusOptions) []BoardStatus {
	o = o.withDefaults()
	if ssh.Timeout <= 0 || ssh.Timeout > o.Timeout {
		ssh.Timeout = o.Timeout
	}
	par := o.Parallel
	if par <= 0 || par > len(targets) {
		par = len(targets)
	}
	out := make([]BoardStatus, len(targets))
	sem := make(chan struct{}, max(par, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			bctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			start := time.Now()
			out[i] = boardStatus(bctx, t, ssh, o)
			out[i].Seconds = time.Since(start).Seconds()
		}()
	}
	wg.Wait()
	return out
}

func boardStatus(ctx context.Context, t Target, ssh SSHOptions, o StatusOptions) BoardStatus {
	s := BoardStatus{Target: t.String(), Address: t.User + "@" + t.Addr()}
	c, err := Dial(ctx, t, ssh)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", o.Timeout, err)
		}
		s.Error = oneLine(err.Error())
		return s
	}
	defer c.Close()
	s.Online = true
	if l, err := c.SFTP.ReadLink(path.Join(o.Prefix, "current")); err == nil {
		s.Release = path.Base(l)
		s.Version = releaseVersion(s.Release)
	}
	if ents, err := c.SFTP.ReadDir(releasesDir(o.Prefix)); err == nil {
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				s.Releases = append(s.Releases, e.Name())
			}
		}
	}
	if s.Release == "" {
		s.Health = "not installed (no " + path.Join(o.Prefix, "current") + ")"
		return s
	}
	if data, err := readSmall(c, path.Join(o.Prefix, "current", SumsFile)); err == nil {
		if sums, err := ParseSums(data); err == nil {
			for name, sum := range sums {
				if strings.HasPrefix(name, "model.") {
					s.Model = name + " " + sum[:12]
				}
			}
		}
	}
	out, err := c.Run(ctx, shq(o.Systemctl)+" is-active "+shq(o.Unit))
	s.Service = strings.TrimSpace(out)
	if s.Service == "" { // is-active prints the state; a quiet stand-in only exits
		s.Service = "active"
		if err != nil {
			s.Service = "inactive"
		}
	}
	base := "http://" + o.HTTP
	if err := c.HTTPGet(ctx, base+"/healthz"); err != nil {
		s.Health = oneLine(err.Error())
	} else {
		s.Healthy, s.Health = true, "ok"
	}
	var r Reading
	if err := c.httpJSON(ctx, base+"/state", &r); err == nil && !r.Time.IsZero() {
		s.Reading = &r
	}
	return s
}

// releaseVersion is the version part of a release name (<version>-<hash>).
func releaseVersion(rel string) string {
	if i := strings.LastIndexByte(rel, '-'); i > 0 && len(rel)-i-1 == 12 {
		return rel[:i]
	}
	return rel
}

func readSmall(c *Conn, p string) ([]byte, error) {
	f, err := c.SFTP.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// httpJSON GETs url from the board's side and decodes a JSON answer of at
// most 1 MiB.
func (c *Conn) httpJSON(ctx context.Context, url string, v any) error {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return c.Client.DialContext(ctx, "tcp", addr)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// StatusTable writes one row per board.
func StatusTable(w io.Writer, rows []BoardStatus, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BOARD\tSTATE\tRELEASE\tSERVICE\tHEALTH\tMODEL\tLAST READING\tDETAIL")
	for _, r := range rows {
		state := "online"
		if !r.Online {
			state = "OFFLINE"
		}
		reading := "-"
		if r.Reading != nil {
			d := r.Reading.Digits
			if d == "" {
				d = "(none)"
			}
			reading = fmt.Sprintf("%s (%.2f, %s ago)", d, r.Reading.Confidence, now.Sub(r.Reading.Time).Round(time.Second))
		}
		health := "-"
		detail := r.Error
		if r.Online {
			health = "ok"
			if !r.Healthy {
				health = "UNHEALTHY"
				detail = r.Health
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Target, state, dash(r.Release), dash(r.Service), health, dash(r.Model), reading, detail)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
