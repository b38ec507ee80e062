package oci

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"go.yaml.in/yaml/v3"
)

// The example manifests in deploy/examples parse, have the structure
// Compose and Kubernetes need, and agree with the image Build makes
// (healthcheck command, port, paths, camera device).
func TestExampleManifests(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(t), "deploy", "examples")
	bin, model := files(t, 10)
	r, err := Build(context.Background(), []Input{{Board: board(t, "rpi4"), Binary: bin}}, Options{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := r.Images[0].Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	health := cf.Config.Healthcheck.Test[1:] // without "CMD"
	var port string
	for p := range cf.Config.ExposedPorts {
		port = strings.TrimSuffix(p, "/tcp")
	}

	var compose struct {
		Services map[string]struct {
			Image       string   `yaml:"image"`
			Restart     string   `yaml:"restart"`
			Devices     []string `yaml:"devices"`
			GroupAdd    []string `yaml:"group_add"`
			Ports       []string `yaml:"ports"`
			Volumes     []string `yaml:"volumes"`
			Healthcheck struct {
				Test     []string `yaml:"test"`
				Interval string   `yaml:"interval"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	strictYAML(t, filepath.Join(dir, "docker-compose.yml"), &compose)
	svc, ok := compose.Services["edgecnn"]
	if !ok {
		t.Fatalf("docker-compose.yml: no service edgecnn")
	}
	if svc.Image == "" || svc.Restart == "" {
		t.Errorf("compose: image %q restart %q", svc.Image, svc.Restart)
	}
	if !hasPrefix(svc.Devices, "/dev/video0") {
		t.Errorf("compose: devices %v lack /dev/video0", svc.Devices)
	}
	if len(svc.Healthcheck.Test) < 2 || svc.Healthcheck.Test[0] != "CMD" || !reflect.DeepEqual(svc.Healthcheck.Test[1:], health) {
		t.Errorf("compose healthcheck %v, image's %v", svc.Healthcheck.Test, health)
	}
	if !hasSuffix(svc.Ports, ":"+port) {
		t.Errorf("compose ports %v do not publish the image's port %s", svc.Ports, port)
	}
	for _, v := range svc.Volumes {
		if name, _, ok := strings.Cut(v, ":"); ok && !strings.HasPrefix(name, "/") && !strings.HasPrefix(name, ".") {
			if _, ok := compose.Volumes[name]; !ok {
				t.Errorf("compose volume %s is not declared", name)
			}
		}
		if !strings.HasSuffix(v, ":"+StateDir) {
			t.Errorf("compose volume %s is not the state dir %s", v, StateDir)
		}
	}

	type probe struct {
		Exec *struct {
			Command []string `yaml:"command"`
		} `yaml:"exec"`
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
	}
	var ds struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					Containers []struct {
						Name  string `yaml:"name"`
						Image string `yaml:"image"`
						Ports []struct {
							Name          string `yaml:"name"`
							ContainerPort int    `yaml:"containerPort"`
						} `yaml:"ports"`
						VolumeMounts []struct {
							Name      string `yaml:"name"`
							MountPath string `yaml:"mountPath"`
						} `yaml:"volumeMounts"`
						LivenessProbe  probe `yaml:"livenessProbe"`
						ReadinessProbe probe `yaml:"readinessProbe"`
					} `yaml:"containers"`
					Volumes []struct {
						Name     string `yaml:"name"`
						HostPath *struct {
							Path string `yaml:"path"`
							Type string `yaml:"type"`
						} `yaml:"hostPath"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	strictYAML(t, filepath.Join(dir, "k3s-daemonset.yaml"), &ds)
	if ds.APIVersion != "apps/v1" || ds.Kind != "DaemonSet" || ds.Metadata.Name == "" {
		t.Fatalf("daemonset header: %s %s %q", ds.APIVersion, ds.Kind, ds.Metadata.Name)
	}
	sel := ds.Spec.Selector.MatchLabels
	if len(sel) == 0 {
		t.Fatal("daemonset: empty selector")
	}
	for k, v := range sel {
		if ds.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("daemonset: selector %s=%s does not match the pod template's labels", k, v)
		}
	}
	pod := ds.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("daemonset: %d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != svc.Image {
		t.Errorf("daemonset image %q, compose image %q", c.Image, svc.Image)
	}
	if len(c.Ports) == 0 || strconv.Itoa(c.Ports[0].ContainerPort) != port {
		t.Errorf("daemonset ports %+v, image port %s", c.Ports, port)
	}
	if c.LivenessProbe.Exec == nil || !reflect.DeepEqual(c.LivenessProbe.Exec.Command, health) {
		t.Errorf("daemonset liveness probe %+v, image healthcheck %v", c.LivenessProbe, health)
	}
	if c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("daemonset readiness probe %+v", c.ReadinessProbe)
	}
	vols := map[string]string{}
	for _, v := range pod.Volumes {
		vols[v.Name] = ""
		if v.HostPath != nil {
			vols[v.Name] = v.HostPath.Path + " " + v.HostPath.Type
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("daemonset mounts undeclared volume %s", m.Name)
		}
		mounts[m.MountPath] = m.Name
	}
	if v := mounts["/dev/video0"]; vols[v] != "/dev/video0 CharDevice" {
		t.Errorf("daemonset: /dev/video0 mounted from %q (%q), want a hostPath CharDevice", v, vols[v])
	}
	if mounts[StateDir] == "" || mounts["/tmp"] == "" {
		t.Errorf("daemonset: want %s and /tmp mounted (read-only root), got %v", StateDir, mounts)
	}
}

// strictYAML decodes a file; a YAML syntax error fails the test.
func strictYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func hasPrefix(l []string, p string) bool {
	for _, s := range l {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func hasSuffix(l []string, p string) bool {
	for _, s := range l {
		if strings.HasSuffix(s, p) {
			return true
		}
	}
	return false
}
