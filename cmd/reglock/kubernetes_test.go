package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reglock/reglock/config"
)

// The Kubernetes objects deploy/kubernetes uses, as far as the test reads
// them. They are decoded strictly: a misspelled or misplaced key fails here
// (kubectl's strict field validation would refuse it too). A field that is
// legitimately new belongs in these types.

type k8sMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type k8sHeader struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
}

type k8sNamespace struct {
	k8sHeader `yaml:",inline"`
}

type k8sConfigMap struct {
	k8sHeader `yaml:",inline"`
	Data      map[string]string `yaml:"data"`
}

type k8sSecret struct {
	k8sHeader  `yaml:",inline"`
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

type k8sSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type k8sDeployment struct {
	k8sHeader `yaml:",inline"`
	Spec      struct {
		Replicas             *int        `yaml:"replicas"`
		RevisionHistoryLimit *int        `yaml:"revisionHistoryLimit"`
		Selector             k8sSelector `yaml:"selector"`
		Strategy             *struct {
			Type          string `yaml:"type"`
			RollingUpdate *struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
				MaxSurge       any `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata k8sMeta    `yaml:"metadata"`
			Spec     k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sPodSpec struct {
	AutomountServiceAccountToken  *bool `yaml:"automountServiceAccountToken"`
	EnableServiceLinks            *bool `yaml:"enableServiceLinks"`
	TerminationGracePeriodSeconds *int  `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *struct {
		RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
		RunAsUser      *int  `yaml:"runAsUser"`
		RunAsGroup     *int  `yaml:"runAsGroup"`
		SeccompProfile *struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	TopologySpreadConstraints []struct {
		MaxSkew           int         `yaml:"maxSkew"`
		TopologyKey       string      `yaml:"topologyKey"`
		WhenUnsatisfiable string      `yaml:"whenUnsatisfiable"`
		LabelSelector     k8sSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	Containers []k8sContainer `yaml:"containers"`
	Volumes    []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name  string `yaml:"name"`
			Items []struct {
				Key  string `yaml:"key"`
				Path string `yaml:"path"`
			} `yaml:"items"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             *struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type k8sService struct {
	k8sHeader `yaml:",inline"`
	Spec      struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sPDB struct {
	k8sHeader `yaml:",inline"`
	Spec      struct {
		MinAvailable   any         `yaml:"minAvailable"`
		MaxUnavailable any         `yaml:"maxUnavailable"`
		Selector       k8sSelector `yaml:"selector"`
	} `yaml:"spec"`
}

// k8sManifests is everything under deploy/kubernetes.
type k8sManifests struct {
	namespaces  []k8sNamespace
	configMaps  map[string]k8sConfigMap
	secrets     map[string]k8sSecret
	deployments map[string]k8sDeployment
	services    map[string]k8sService
	pdbs        []k8sPDB
	// files holds where each object came from, for messages.
	files map[string]string
}

func loadKubernetes(t *testing.T) k8sManifests {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy", "kubernetes")
	m := k8sManifests{configMaps: map[string]k8sConfigMap{}, secrets: map[string]k8sSecret{},
		deployments: map[string]k8sDeployment{}, services: map[string]k8sService{}, files: map[string]string{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			var h k8sHeader
			if err := doc.Decode(&h); err != nil {
				t.Fatalf("%s: document %d: %v", rel, i, err)
			}
			where := rel + ": " + h.Kind + " " + h.Metadata.Name
			if h.Metadata.Name == "" {
				t.Fatalf("%s: document %d (%s) has no metadata.name", rel, i, h.Kind)
			}
			key := h.Kind + "/" + h.Metadata.Name
			if prev, dup := m.files[key]; dup {
				t.Fatalf("%s: %s is defined in %s too", rel, key, prev)
			}
			m.files[key] = rel
			switch h.Kind {
			case "Namespace":
				var o k8sNamespace
				strictDecode(t, where, &doc, &o)
				m.namespaces = append(m.namespaces, o)
			case "ConfigMap":
				var o k8sConfigMap
				strictDecode(t, where, &doc, &o)
				m.configMaps[o.Metadata.Name] = o
			case "Secret":
				var o k8sSecret
				strictDecode(t, where, &doc, &o)
				m.secrets[o.Metadata.Name] = o
			case "Deployment":
				var o k8sDeployment
				strictDecode(t, where, &doc, &o)
				m.deployments[o.Metadata.Name] = o
			case "Service":
				var o k8sService
				strictDecode(t, where, &doc, &o)
				m.services[o.Metadata.Name] = o
			case "PodDisruptionBudget":
				var o k8sPDB
				strictDecode(t, where, &doc, &o)
				m.pdbs = append(m.pdbs, o)
			default:
				t.Fatalf("%s: kind %q: teach kubernetes_test.go about it", where, h.Kind)
			}
			want := map[string]string{"Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
				"Deployment": "apps/v1", "PodDisruptionBudget": "policy/v1"}[h.Kind]
			if h.APIVersion != want {
				t.Errorf("%s: apiVersion %q, want %q", where, h.APIVersion, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// strictDecode decodes a document refusing keys the type does not have.
func strictDecode(t *testing.T, where string, doc *yaml.Node, out any) {
	t.Helper()
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

func selects(sel map[string]string, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetes_manifests(t *testing.T) {
	m := loadKubernetes(t)

	if len(m.namespaces) != 1 {
		t.Fatalf("want one Namespace, got %d", len(m.namespaces))
	}
	ns := m.namespaces[0].Metadata.Name
	for key, file := range m.files {
		if !strings.HasPrefix(key, "Namespace/") {
			if got := objectNamespace(m, key); got != ns {
				t.Errorf("%s: %s is in namespace %q, want %q", file, key, got, ns)
			}
		}
	}

	// The example Secret: fake values only, and out of the way of
	// `kubectl apply -f deploy/kubernetes/` (which does not recurse).
	if len(m.secrets) != 1 {
		t.Fatalf("want one example Secret, got %d", len(m.secrets))
	}
	for name, s := range m.secrets {
		file := m.files["Secret/"+name]
		if filepath.Dir(file) == "." {
			t.Errorf("%s: the example Secret must not sit in deploy/kubernetes itself: `kubectl apply -f deploy/kubernetes/` would apply its fake values", file)
		}
		if len(s.Data) > 0 || len(s.StringData) == 0 {
			t.Errorf("%s: put the example values in stringData (readable, clearly fake), not data", file)
		}
		for k, v := range s.StringData {
			if !strings.Contains(v, "fake") {
				t.Errorf("%s: %s=%q does not look fake: example values must say so", file, k, v)
			}
		}
	}

	wantRoles := map[string]string{"reglock-api": "api", "reglock-worker": "worker", "reglock-scheduler": "scheduler"}
	if got := slices.Sorted(maps.Keys(m.deployments)); !slices.Equal(got, slices.Sorted(maps.Keys(wantRoles))) {
		t.Fatalf("Deployments %v, want %v", got, slices.Sorted(maps.Keys(wantRoles)))
	}
	for name, d := range m.deployments {
		checkDeployment(t, m, m.files["Deployment/"+name], d, wantRoles[name])
	}

	// The API Service reaches the api pods on the port reglock listens on.
	api := m.deployments["reglock-api"]
	svc, ok := m.services["reglock-api"]
	if !ok {
		t.Fatal("no Service reglock-api")
	}
	if !selects(svc.Spec.Selector, api.Spec.Template.Metadata.Labels) {
		t.Errorf("Service reglock-api selector %v does not select the api pods %v", svc.Spec.Selector, api.Spec.Template.Metadata.Labels)
	}
	apiCfg := deploymentConfig(t, m, "reglock-api", api)
	_, apiPort := hostPort(t, "api.listen", apiCfg.API.Listen)
	if len(svc.Spec.Ports) == 0 {
		t.Fatal("Service reglock-api has no ports")
	}
	for _, p := range svc.Spec.Ports {
		if got := containerPort(t, "Service reglock-api", api.Spec.Template.Spec.Containers[0], p.TargetPort); got != apiPort {
			t.Errorf("Service reglock-api: targetPort %v is container port %d, want api.listen's %d", p.TargetPort, got, apiPort)
		}
	}
}

func objectNamespace(m k8sManifests, key string) string {
	kind, name, _ := strings.Cut(key, "/")
	switch kind {
	case "ConfigMap":
		return m.configMaps[name].Metadata.Namespace
	case "Secret":
		return m.secrets[name].Metadata.Namespace
	case "Deployment":
		return m.deployments[name].Metadata.Namespace
	case "Service":
		return m.services[name].Metadata.Namespace
	case "PodDisruptionBudget":
		for _, p := range m.pdbs {
			if p.Metadata.Name == name {
				return p.Metadata.Namespace
			}
		}
	}
	return ""
}

func checkDeployment(t *testing.T, m k8sManifests, file string, d k8sDeployment, role string) {
	name := d.Metadata.Name
	where := file + ": " + name
	pod := d.Spec.Template.Spec
	labels := d.Spec.Template.Metadata.Labels
	if !selects(d.Spec.Selector.MatchLabels, labels) {
		t.Errorf("%s: selector %v does not select the template's labels %v", where, d.Spec.Selector.MatchLabels, labels)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", where, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image == "" || len(c.Command) > 0 {
		t.Errorf("%s: want an image and no command (the image's entrypoint is reglock; args start with the subcommand)", where)
	}
	cmd := reglockCommand(t, where, c.Args)
	if cmd.Name() != role {
		t.Errorf("%s: runs reglock %s, want %s", where, cmd.Name(), role)
	}

	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	switch {
	case role == "api" && replicas != 2,
		role == "worker" && replicas < 2,
		role == "scheduler" && replicas < 1:
		t.Errorf("%s: %d replicas", where, replicas)
	}

	cfg := deploymentConfig(t, m, name, d)

	// Probes and scraping go where reglock serves /healthz, /readyz and
	// /metrics: api.listen for the API, worker.listen for the others.
	listen, what := cfg.Worker.Listen, "worker.listen"
	if role == "api" || role == "serve" {
		listen, what = cfg.API.Listen, "api.listen"
	}
	if listen == "" {
		t.Fatalf("%s: %s is empty: reglock %s serves no /healthz, /readyz or /metrics", where, what, role)
	}
	host, port := hostPort(t, where+" "+what, listen)
	if host != "" && host != "0.0.0.0" && host != "::" {
		t.Errorf("%s: %s %s: the kubelet and Prometheus reach the pod IP, not %s", where, what, listen, host)
	}
	for _, p := range []struct {
		name, path string
		probe      *k8sProbe
	}{{"readinessProbe", "/readyz", c.ReadinessProbe}, {"livenessProbe", "/healthz", c.LivenessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s", where, p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: %s path %q, want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
		}
		if got := containerPort(t, where+" "+p.name, c, p.probe.HTTPGet.Port); got != port {
			t.Errorf("%s: %s on port %d, but %s is %s", where, p.name, got, what, listen)
		}
		if p.probe.TimeoutSeconds > 0 && p.probe.TimeoutSeconds < 3 && p.path == "/readyz" {
			t.Errorf("%s: %s timeout %ds: /readyz waits up to 2s for Redis", where, p.name, p.probe.TimeoutSeconds)
		}
	}
	a := d.Spec.Template.Metadata.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(port) || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: prometheus.io annotations %v, want scrape true, port %d, path /metrics", where, a, port)
	}

	// Shutdown: the preStop sleep and then worker.shutdown_timeout must
	// both fit in the grace period, or the kubelet kills work in flight.
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if role == "api" && preStop <= 0 {
		t.Errorf("%s: no preStop sleep: connections still routed to a terminating pod would be refused", where)
	}
	grace := 30 * time.Second // the Kubernetes default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= preStop+cfg.Worker.ShutdownTimeout {
		t.Errorf("%s: terminationGracePeriodSeconds %s must exceed the preStop sleep (%s) + worker.shutdown_timeout (%s)",
			where, grace, preStop, cfg.Worker.ShutdownTimeout)
	}

	// Hardening.
	sc := c.SecurityContext
	nonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
	if !nonRoot {
		t.Errorf("%s: runAsNonRoot is not set", where)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("%s: set a numeric, non-zero runAsUser (the distroless nonroot user is 65532)", where)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s: container securityContext must set readOnlyRootFilesystem, allowPrivilegeEscalation: false, drop ALL", where)
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
			t.Errorf("%s: resources: want requests and limits for %s", where, r)
		}
	}

	// A PodDisruptionBudget that lets drains go on.
	found := false
	for _, p := range m.pdbs {
		if !selects(p.Spec.Selector.MatchLabels, labels) {
			continue
		}
		found = true
		if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
			t.Errorf("PodDisruptionBudget %s: set exactly one of minAvailable and maxUnavailable", p.Metadata.Name)
		}
		if n, ok := p.Spec.MinAvailable.(int); ok && n >= replicas {
			t.Errorf("PodDisruptionBudget %s: minAvailable %d with %d replicas blocks every node drain", p.Metadata.Name, n, replicas)
		}
		if n, ok := p.Spec.MaxUnavailable.(int); ok && n < 1 {
			t.Errorf("PodDisruptionBudget %s: maxUnavailable %d blocks every node drain", p.Metadata.Name, n)
		}
	}
	if !found {
		t.Errorf("%s: no PodDisruptionBudget selects its pods", where)
	}
}

// deploymentConfig loads the reglock.yaml a Deployment's pods read: the
// --config flag (or REGLOCK_CONFIG) resolved through the volume mounts to a
// ConfigMap key, with the pod's environment (its env values and the
// Secrets of its envFrom). Every key of those Secrets must be used.
func deploymentConfig(t *testing.T, m k8sManifests, name string, d k8sDeployment) *config.Config {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	cmd := reglockCommand(t, name, c.Args)
	env := map[string]string{}
	fromSecrets := map[string]bool{}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef == nil {
			continue
		}
		s, ok := m.secrets[ef.SecretRef.Name]
		if !ok {
			t.Fatalf("%s: envFrom Secret %q is not in deploy/kubernetes", name, ef.SecretRef.Name)
		}
		for k, v := range s.StringData {
			env[k] = v
			fromSecrets[k] = true
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	target := flagValue(cmd, "config")
	if target == "" {
		target = env["REGLOCK_CONFIG"]
	}
	if target == "" {
		t.Fatalf("%s: no --config or REGLOCK_CONFIG", name)
	}
	var data string
	found := false
	for _, vm := range c.VolumeMounts {
		dir := strings.TrimSuffix(vm.MountPath, "/")
		if path.Dir(target) != dir {
			continue
		}
		if !vm.ReadOnly {
			t.Errorf("%s: volumeMount %s is not readOnly", name, vm.MountPath)
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := m.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Fatalf("%s: ConfigMap %q is not in deploy/kubernetes", name, v.ConfigMap.Name)
			}
			key := path.Base(target)
			for _, it := range v.ConfigMap.Items {
				if it.Path == key {
					key = it.Key
				}
			}
			data, found = cm.Data[key]
			if !found {
				t.Fatalf("%s: ConfigMap %s has no key %q for %s", name, cm.Metadata.Name, key, target)
			}
		}
	}
	if !found {
		t.Fatalf("%s: %s is not mounted from a ConfigMap", name, target)
	}
	file := filepath.Join(t.TempDir(), path.Base(target))
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	cfg, err := config.Load(file, func(k string) (string, bool) {
		used[k] = true
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatalf("%s: the ConfigMap's reglock.yaml with the pod's environment:\n%v", name, err)
	}
	for k := range fromSecrets {
		if !used[k] {
			t.Errorf("%s: Secret key %s is not used by reglock.yaml (misspelled?)", name, k)
		}
	}
	return cfg
}

// containerPort resolves a probe or Service port (a number or the name of
// one of the container's ports) to a number.
func containerPort(t *testing.T, where string, c k8sContainer, port any) int {
	t.Helper()
	switch p := port.(type) {
	case int:
		return p
	case string:
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
		if n, err := strconv.Atoi(p); err == nil {
			return n
		}
		t.Fatalf("%s: the container has no port named %q", where, p)
	}
	t.Fatalf("%s: port %v (%T) is neither a number nor a name", where, port, port)
	return 0
}
