package deploy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Job is one board of a fleet flash.
type Job struct {
	Target Target
	Bundle *Bundle
	SSH    SSHOptions
	Opts   Options
}

// FlashAll flashes every job, at most parallel at a time (0: all at once),
// and returns one result per job in order. A board that cannot be reached
// fails on its own; the others carry on.
func FlashAll(ctx context.Context, jobs []Job, parallel int) []Result {
	if parallel <= 0 || parallel > len(jobs) {
		parallel = len(jobs)
	}
	res := make([]Result, len(jobs))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			c, err := Dial(ctx, j.Target, j.SSH)
			if err != nil {
				res[i] = Result{Target: j.Target.String(), Release: j.Bundle.Release, Err: err, Duration: time.Since(start)}
				return
			}
			defer c.Close()
			r := Flash(ctx, c, j.Bundle, j.Opts)
			r.Duration = time.Since(start)
			res[i] = r
		}()
	}
	wg.Wait()
	return res
}

// Summary writes a table of results.
func Summary(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTATUS\tRELEASE\tSENT\tFILES SENT/LINKED\tTIME\tDETAIL")
	for _, r := range results {
		detail := ""
		if r.Err != nil {
			detail = r.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%.1fs\t%s\n", r.Target, r.Status(), r.Release,
			human(r.BytesSent), r.Uploaded, r.Linked, r.Duration.Seconds(), detail)
	}
	tw.Flush()
}

// ReadInventory parses an Ansible-style INI inventory:
//
//	[pis]
//	kitchen ansible_host=192.168.1.20 ansible_user=pi ansible_port=22 edgecnn_board=rpi5
//	192.168.1.21
//	[pis:vars]
//	ansible_user=pi
//	ansible_ssh_private_key_file=~/.ssh/id_ed25519
//
// Hosts in several groups are listed once. group selects one group ("" or
// "all": every host). Unknown variables are ignored.
func ReadInventory(path, group string) ([]Target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer f.Close()
	type host struct {
		name   string
		vars   map[string]string
		groups []string
	}
	var order []string
	hosts := map[string]*host{}
	groupVars := map[string]map[string]string{}
	section, isVars := "ungrouped", false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("inventory %s:%d: bad section %q", path, n, line)
			}
			section, isVars = line[1:len(line)-1], false
			if g, ok := strings.CutSuffix(section, ":vars"); ok {
				section, isVars = g, true
			} else if strings.Contains(section, ":") {
				section = "" // :children and others are not supported; skip their lines
			}
			continue
		}
		if section == "" {
			continue
		}
		fields := strings.Fields(line)
		if isVars {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("inventory %s:%d: want key=value, got %q", path, n, line)
			}
			if groupVars[section] == nil {
				groupVars[section] = map[string]string{}
			}
			groupVars[section][strings.TrimSpace(k)] = unquote(strings.TrimSpace(v))
			continue
		}
		h := hosts[fields[0]]
		if h == nil {
			h = &host{name: fields[0], vars: map[string]string{}}
			hosts[fields[0]] = h
			order = append(order, fields[0])
		}
		h.groups = append(h.groups, section)
		for _, kv := range fields[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("inventory %s:%d: want key=value, got %q", path, n, kv)
			}
			h.vars[k] = unquote(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	var out []Target
	for _, name := range order {
		h := hosts[name]
		if group != "" && group != "all" && !contains(h.groups, group) {
			continue
		}
		vars := map[string]string{}
		for k, v := range groupVars["all"] {
			vars[k] = v
		}
		for _, g := range h.groups {
			for k, v := range groupVars[g] {
				vars[k] = v
			}
		}
		for k, v := range h.vars {
			vars[k] = v
		}
		t := Target{Name: name, Host: name, User: vars["ansible_user"], Board: vars["edgecnn_board"]}
		if v := vars["ansible_host"]; v != "" {
			t.Host = v
		}
		if t.User == "" {
			t.User = "root"
		}
		if v := vars["ansible_port"]; v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				return nil, fmt.Errorf("inventory %s: host %s: bad ansible_port %q", path, name, v)
			}
			t.Port = p
		}
		if v := vars["ansible_ssh_private_key_file"]; v != "" {
			if strings.HasPrefix(v, "~/") {
				if home, err := os.UserHomeDir(); err == nil {
					v = filepath.Join(home, v[2:])
				}
			}
			t.Identity = v
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		groups := map[string]bool{}
		for _, h := range hosts {
			for _, g := range h.groups {
				groups[g] = true
			}
		}
		var gl []string
		for g := range groups {
			gl = append(gl, g)
		}
		sort.Strings(gl)
		return nil, fmt.Errorf("inventory %s: no hosts (group %q; groups: %s)", path, group, strings.Join(gl, ", "))
	}
	return out, nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
