package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const iniInventory = `# a fleet
[kitchen]
pi[01:02] ansible_user=pi
meter ansible_host=192.168.1.30 ansible_port=2222 edgecnn_board=rpi5 note="two words"

[garage]
zero ansible_host=192.168.1.40 edgecnn_board=rpi-zero2w

[house:children]
kitchen
garage

[house:vars]
ansible_user=admin
ansible_ssh_private_key_file=/keys/house

[kitchen:vars]
ansible_port=22

[all:vars]
ansible_user=root
`

const yamlInventory = `all:
  vars:
    ansible_user: root
  children:
    house:
      vars:
        ansible_user: admin
        ansible_ssh_private_key_file: /keys/house
      children:
        kitchen:
          vars:
            ansible_port: 22
          hosts:
            pi[01:02]:
              ansible_user: pi
            meter:
              ansible_host: 192.168.1.30
              ansible_port: 2222
              edgecnn_board: rpi5
              note: two words
        garage:
          hosts:
            zero:
              ansible_host: 192.168.1.40
              edgecnn_board: rpi-zero2w
`

func writeInv(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func targetsString(ts []Target) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Name+"="+t.User+"@"+t.Host+":"+strconv.Itoa(t.Port)+" board="+t.Board+" key="+t.Identity)
	}
	return strings.Join(s, "\n")
}

// The same fleet as INI and as YAML reads the same, with Ansible's
// precedence (all < house < kitchen < host variables).
func TestInventoryINIAndYAML(t *testing.T) {
	want := strings.Join([]string{
		"pi01=pi@pi01:22 board= key=/keys/house",
		"pi02=pi@pi02:22 board= key=/keys/house",
		"meter=admin@192.168.1.30:2222 board=rpi5 key=/keys/house",
		"zero=admin@192.168.1.40:0 board=rpi-zero2w key=/keys/house",
	}, "\n")
	for _, p := range []string{writeInv(t, "hosts.ini", iniInventory), writeInv(t, "hosts.yml", yamlInventory)} {
		all, err := ReadInventory(p, "")
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if got := targetsString(all); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", filepath.Base(p), got, want)
		}
		house, err := ReadInventory(p, "house")
		if err != nil || len(house) != 4 {
			t.Errorf("%s: group house (children): %d hosts, %v", p, len(house), err)
		}
		garage, err := ReadInventory(p, "garage")
		if err != nil || len(garage) != 1 || garage[0].Name != "zero" {
			t.Errorf("%s: group garage: %+v %v", p, garage, err)
		}
		if _, err := ReadInventory(p, "attic"); err == nil || !strings.Contains(err.Error(), "kitchen") {
			t.Errorf("%s: unknown group: %v", p, err)
		}
	}
}

// ansible-inventory itself agrees on hosts, groups and connection variables.
func TestInventoryMatchesAnsible(t *testing.T) {
	t.Parallel()
	exe, err := exec.LookPath("ansible-inventory")
	if err != nil {
		t.Fatalf("ansible-inventory not installed (make deps installs Debian's ansible): %v", err)
	}
	for _, p := range []string{writeInv(t, "hosts.ini", iniInventory), writeInv(t, "hosts.yml", yamlInventory)} {
		cmd := exec.Command(exe, "-i", p, "--list")
		cmd.Env = append(os.Environ(), "ANSIBLE_HOME="+t.TempDir(), "ANSIBLE_LOCAL_TEMP="+t.TempDir())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ansible-inventory %s: %v", p, err)
		}
		var list struct {
			Meta struct {
				Hostvars map[string]map[string]any `json:"hostvars"`
			} `json:"_meta"`
		}
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatal(err)
		}
		ours, err := ReadInventory(p, "")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range list.Meta.Hostvars {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) != len(ours) {
			t.Fatalf("%s: ansible sees hosts %v, we see %s", p, names, targetsString(ours))
		}
		for _, tg := range ours {
			hv, ok := list.Meta.Hostvars[tg.Name]
			if !ok {
				t.Errorf("%s: ansible does not know host %s", p, tg.Name)
				continue
			}
			if u := hv["ansible_user"]; u != tg.User {
				t.Errorf("%s: %s: ansible_user %v, ours %s", p, tg.Name, u, tg.User)
			}
			if h, ok := hv["ansible_host"]; ok && h != tg.Host {
				t.Errorf("%s: %s: ansible_host %v, ours %s", p, tg.Name, h, tg.Host)
			}
			if port, ok := hv["ansible_port"]; ok && toString(port) != strconv.Itoa(tg.Port) {
				t.Errorf("%s: %s: ansible_port %v, ours %d", p, tg.Name, port, tg.Port)
			}
			if b, ok := hv["edgecnn_board"]; ok && b != tg.Board {
				t.Errorf("%s: %s: edgecnn_board %v, ours %s", p, tg.Name, b, tg.Board)
			}
		}
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.Itoa(int(x))
	case string:
		return x
	}
	return ""
}

// A syntax error is one line naming file:line.
func TestInventorySyntaxErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"a.ini", "[pis]\npi1\n[pis\npi2\n", ":3: "},
		{"b.ini", "[pis:vars]\nansible_user\n", ":2: "},
		{"c.ini", "[pis]\npi1 ansible_user\n", ":2: "},
		{"d.ini", "[pis:weird]\n", ":1: "},
		{"e.ini", "[pis]\npi1 note=\"open\n", ":2: "},
		{"f.ini", "[a:children]\nb\n[b:children]\na\n[b]\nh\n", "own child"},
		{"g.yml", "all:\n  hosts:\n    pi1:\n  ansible_user: pi\n    bad: [\n", ":"},
		{"h.yaml", "all:\n  hosts:\n    - pi1\n", ":3: "},
		{"i.yml", "all:\n  host:\n    pi1:\n", ":2: "},
		{"j.yml", "all:\n\thosts: {}\n", ":2: "},
		{"k.ini", "[x]\nh ansible_port=seventy\n", "ansible_port"},
	}
	for _, c := range cases {
		p := writeInv(t, c.name, c.text)
		_, err := ReadInventory(p, "")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, p) || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %q; want one line with %s and %q", c.name, msg, p, c.want)
		}
	}
}
