package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Inventory is a parsed Ansible inventory: hosts in file order, groups with
// their variables and children.
type Inventory struct {
	Path   string
	hosts  []string
	hvars  map[string]map[string]string
	groups map[string]*invGroup
}

type invGroup struct {
	name     string
	vars     map[string]string
	hosts    []string
	children []string
	line     int
}

func newInventory(path string) *Inventory {
	inv := &Inventory{Path: path, hvars: map[string]map[string]string{}, groups: map[string]*invGroup{}}
	inv.group("all", 0)
	inv.group("ungrouped", 0)
	return inv
}

func (inv *Inventory) group(name string, line int) *invGroup {
	g := inv.groups[name]
	if g == nil {
		g = &invGroup{name: name, vars: map[string]string{}, line: line}
		inv.groups[name] = g
	}
	return g
}

func (inv *Inventory) addHost(group, name string, vars map[string]string) {
	if _, ok := inv.hvars[name]; !ok {
		inv.hosts = append(inv.hosts, name)
		inv.hvars[name] = map[string]string{}
	}
	for k, v := range vars {
		inv.hvars[name][k] = v
	}
	g := inv.group(group, 0)
	if !contains(g.hosts, name) {
		g.hosts = append(g.hosts, name)
	}
}

// ReadInventory reads an Ansible inventory, INI or YAML (by extension:
// .yml, .yaml and .json are YAML, as ansible-inventory decides), and
// returns the hosts of group ("" or "all": every host; a group includes
// its children's hosts). It understands ansible_host, ansible_user,
// ansible_port, ansible_ssh_private_key_file (and their older ansible_ssh_
// spellings) and edgecnn_board; other variables are ignored. Group
// variables apply parents first (all, then deeper groups), host variables
// last, as in Ansible. A syntax error is one line naming file:line.
//
//	[pis]
//	kitchen ansible_host=192.168.1.20 ansible_user=pi edgecnn_board=rpi5
//	[pis:vars]
//	ansible_ssh_private_key_file=~/.ssh/id_ed25519
//	[fleet:children]
//	pis
func ReadInventory(path, group string) ([]Target, error) {
	inv, err := LoadInventory(path)
	if err != nil {
		return nil, err
	}
	return inv.Targets(group)
}

// LoadInventory parses an inventory file.
func LoadInventory(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if len(data) > 16<<20 {
		return nil, fmt.Errorf("inventory %s: larger than 16 MiB", path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yml", ".yaml", ".json":
		return parseYAMLInventory(path, data)
	}
	return parseINIInventory(path, data)
}

func (inv *Inventory) errf(line int, format string, args ...any) error {
	return fmt.Errorf("inventory %s:%d: %s", inv.Path, line, fmt.Sprintf(format, args...))
}

// parseINIInventory reads Ansible's INI format: [group], [group:vars],
// [group:children] sections; host lines "name key=value ..." (values may
// be quoted); numeric ranges such as pi[01:03].
func parseINIInventory(path string, data []byte) (*Inventory, error) {
	inv := newInventory(path)
	section, kind := "ungrouped", "hosts"
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, inv.errf(n, "section %q has no closing ]", line)
			}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
				return nil, inv.errf(n, "text after section header: %q", rest)
			}
			name := line[1:end]
			kind = "hosts"
			if g, k, ok := strings.Cut(name, ":"); ok {
				if k != "vars" && k != "children" {
					return nil, inv.errf(n, "section [%s]: want [group], [group:vars] or [group:children]", name)
				}
				name, kind = g, k
			}
			if !validGroup(name) {
				return nil, inv.errf(n, "bad group name %q", name)
			}
			section = name
			inv.group(section, n)
			continue
		}
		switch kind {
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, inv.errf(n, "want key=value in [%s:vars], got %q", section, line)
			}
			inv.group(section, n).vars[strings.TrimSpace(k)] = unquote(strings.TrimSpace(v))
		case "children":
			name := strings.Fields(line)[0]
			if !validGroup(name) {
				return nil, inv.errf(n, "bad group name %q in [%s:children]", name, section)
			}
			g := inv.group(section, n)
			if !contains(g.children, name) {
				g.children = append(g.children, name)
			}
			inv.group(name, n)
		default:
			fields, err := splitQuoted(line)
			if err != nil {
				return nil, inv.errf(n, "%v", err)
			}
			vars := map[string]string{}
			for _, kv := range fields[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return nil, inv.errf(n, "host %s: want key=value, got %q", fields[0], kv)
				}
				vars[k] = v
			}
			names, err := expandRange(fields[0])
			if err != nil {
				return nil, inv.errf(n, "%v", err)
			}
			for _, h := range names {
				inv.addHost(section, h, vars)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", path, err)
	}
	return inv, inv.checkCycles()
}

var groupRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func validGroup(s string) bool { return groupRe.MatchString(s) }

// splitQuoted splits on spaces, keeping quoted values ("a b", 'a b') whole
// and removing their quotes.
func splitQuoted(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote byte
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		case c == '#' && !in:
			i = len(s) // comment
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, errors.New("empty host line")
	}
	return out, nil
}

var rangeRe = regexp.MustCompile(`\[([0-9]+):([0-9]+)\]`)

// expandRange expands one numeric range, pi[01:03] → pi01 pi02 pi03.
func expandRange(h string) ([]string, error) {
	m := rangeRe.FindStringSubmatchIndex(h)
	if m == nil {
		if strings.ContainsAny(h, "[]") {
			return nil, fmt.Errorf("host pattern %q: only numeric ranges such as pi[01:09] are supported", h)
		}
		return []string{h}, nil
	}
	lo, hi := h[m[2]:m[3]], h[m[4]:m[5]]
	a, _ := strconv.Atoi(lo)
	b, _ := strconv.Atoi(hi)
	if b < a || b-a > 4096 {
		return nil, fmt.Errorf("host range %q: bad bounds", h)
	}
	var out []string
	for i := a; i <= b; i++ {
		num := strconv.Itoa(i)
		if len(lo) > 1 && lo[0] == '0' {
			num = fmt.Sprintf("%0*d", len(lo), i)
		}
		out = append(out, h[:m[0]]+num+h[m[1]:])
	}
	return out, nil
}

// parseYAMLInventory reads Ansible's YAML format: top-level groups, each
// with optional hosts (name → variables), vars and children (nested groups).
func parseYAMLInventory(path string, data []byte) (*Inventory, error) {
	inv := newInventory(path)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, inv.yamlErr(err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("inventory %s: empty", path)
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, inv.errf(top.Line, "want a mapping of groups (all: {hosts: ..., children: ...})")
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if err := inv.yamlGroup(top.Content[i], top.Content[i+1]); err != nil {
			return nil, err
		}
	}
	return inv, inv.checkCycles()
}

func (inv *Inventory) yamlErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := regexp.MustCompile(`^(?:unmarshal errors:\s*)?line (\d+): (.*)$`).FindStringSubmatch(strings.TrimSpace(msg)); m != nil {
		n, _ := strconv.Atoi(m[1])
		return inv.errf(n, "%s", m[2])
	}
	return fmt.Errorf("inventory %s: %s", inv.Path, strings.ReplaceAll(msg, "\n", "; "))
}

func (inv *Inventory) yamlGroup(key, val *yaml.Node) error {
	name := key.Value
	if key.Kind != yaml.ScalarNode || !validGroup(name) {
		return inv.errf(key.Line, "bad group name %q", name)
	}
	g := inv.group(name, key.Line)
	if isNull(val) {
		return nil
	}
	if val.Kind != yaml.MappingNode {
		return inv.errf(val.Line, "group %s: want a mapping with hosts, vars or children", name)
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], val.Content[i+1]
		switch k.Value {
		case "hosts":
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return inv.errf(v.Line, "group %s: hosts must be a mapping of host names (to variables or nothing)", name)
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				hk, hv := v.Content[j], v.Content[j+1]
				vars, err := inv.yamlVars(hv, "host "+hk.Value)
				if err != nil {
					return err
				}
				names, err := expandRange(hk.Value)
				if err != nil {
					return inv.errf(hk.Line, "%v", err)
				}
				for _, h := range names {
					inv.addHost(name, h, vars)
				}
			}
		case "vars":
			vars, err := inv.yamlVars(v, "group "+name+" vars")
			if err != nil {
				return err
			}
			for kk, vv := range vars {
				g.vars[kk] = vv
			}
		case "children":
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return inv.errf(v.Line, "group %s: children must be a mapping of groups", name)
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				if !contains(g.children, v.Content[j].Value) {
					g.children = append(g.children, v.Content[j].Value)
				}
				if err := inv.yamlGroup(v.Content[j], v.Content[j+1]); err != nil {
					return err
				}
			}
		default:
			return inv.errf(k.Line, "group %s: unknown key %q (want hosts, vars or children)", name, k.Value)
		}
	}
	return nil
}

// yamlVars reads a mapping of scalars; nested values are skipped (edgecnn
// reads only scalar connection variables).
func (inv *Inventory) yamlVars(n *yaml.Node, what string) (map[string]string, error) {
	out := map[string]string{}
	if isNull(n) {
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, inv.errf(n.Line, "%s: want a mapping of variables", what)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; v.Kind == yaml.ScalarNode {
			out[n.Content[i].Value] = v.Value
		}
	}
	return out, nil
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "")
}

// checkCycles refuses a group that is its own descendant.
func (inv *Inventory) checkCycles() error {
	state := map[string]int{}
	var visit func(string) error
	visit = func(g string) error {
		switch state[g] {
		case 1:
			return fmt.Errorf("inventory %s:%d: group %s is its own child", inv.Path, inv.groups[g].line, g)
		case 2:
			return nil
		}
		state[g] = 1
		for _, c := range inv.groups[g].children {
			if err := visit(c); err != nil {
				return err
			}
		}
		state[g] = 2
		return nil
	}
	names := make([]string, 0, len(inv.groups))
	for n := range inv.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n); err != nil {
			return err
		}
	}
	return nil
}

// memberships maps each host to the groups it is in, directly or through a
// child group, with the group's depth below all (all = 0).
func (inv *Inventory) memberships() map[string]map[string]int {
	depth := map[string]int{"all": 0}
	var walk func(g string, d int)
	walk = func(g string, d int) {
		if old, ok := depth[g]; ok && old >= d && g != "all" {
			return
		}
		depth[g] = d
		for _, c := range inv.groups[g].children {
			walk(c, d+1)
		}
	}
	for n := range inv.groups {
		if _, ok := depth[n]; !ok {
			walk(n, 1)
		}
	}
	out := map[string]map[string]int{}
	var add func(g string, hosts []string)
	add = func(g string, hosts []string) {
		for _, h := range hosts {
			if out[h] == nil {
				out[h] = map[string]int{"all": 0}
			}
			out[h][g] = depth[g]
		}
	}
	// A host in group g is in g's ancestors too.
	parents := map[string][]string{}
	for n, g := range inv.groups {
		for _, c := range g.children {
			parents[c] = append(parents[c], n)
		}
	}
	for n, g := range inv.groups {
		seen := map[string]bool{}
		var up func(string)
		up = func(x string) {
			if seen[x] {
				return
			}
			seen[x] = true
			add(x, g.hosts)
			for _, p := range parents[x] {
				up(p)
			}
		}
		up(n)
	}
	return out
}

// Groups lists the inventory's group names, sorted.
func (inv *Inventory) Groups() []string {
	var out []string
	for n, g := range inv.groups {
		if (n == "all" || n == "ungrouped") && len(g.hosts) == 0 {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Vars are the merged variables of one host.
func (inv *Inventory) Vars(host string, member map[string]int) map[string]string {
	type gd struct {
		name string
		d    int
	}
	var gs []gd
	for g, d := range member {
		gs = append(gs, gd{g, d})
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].d != gs[j].d {
			return gs[i].d < gs[j].d
		}
		return gs[i].name < gs[j].name
	})
	vars := map[string]string{}
	for _, g := range gs {
		for k, v := range inv.groups[g.name].vars {
			vars[k] = v
		}
	}
	for k, v := range inv.hvars[host] {
		vars[k] = v
	}
	return vars
}

// Targets returns the hosts of group ("" or "all": every host).
func (inv *Inventory) Targets(group string) ([]Target, error) {
	if group != "" && group != "all" {
		if _, ok := inv.groups[group]; !ok {
			return nil, fmt.Errorf("inventory %s: no group %q (groups: %s)", inv.Path, group, strings.Join(inv.Groups(), ", "))
		}
	}
	member := inv.memberships()
	var out []Target
	for _, name := range inv.hosts {
		m := member[name]
		if group != "" && group != "all" {
			if _, ok := m[group]; !ok {
				continue
			}
		}
		vars := inv.Vars(name, m)
		get := func(keys ...string) string {
			for _, k := range keys {
				if v := vars[k]; v != "" {
					return v
				}
			}
			return ""
		}
		t := Target{Name: name, Host: name, User: get("ansible_user", "ansible_ssh_user"), Board: vars["edgecnn_board"]}
		if v := get("ansible_host", "ansible_ssh_host"); v != "" {
			t.Host = v
		}
		if t.User == "" {
			t.User = "root"
		}
		if v := get("ansible_port", "ansible_ssh_port"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				return nil, fmt.Errorf("inventory %s: host %s: bad ansible_port %q", inv.Path, name, v)
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
		return nil, fmt.Errorf("inventory %s: no hosts (group %q; groups: %s)", inv.Path, group, strings.Join(inv.Groups(), ", "))
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
