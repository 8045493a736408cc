package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
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

type k8sNetworkPolicy struct {
	k8sHeader `yaml:",inline"`
	Spec      struct {
		PodSelector k8sSelector     `yaml:"podSelector"`
		PolicyTypes []string        `yaml:"policyTypes"`
		Ingress     []k8sPolicyRule `yaml:"ingress"`
		Egress      []k8sPolicyRule `yaml:"egress"`
	} `yaml:"spec"`
}

// k8sPolicyRule is a NetworkPolicy ingress (From) or egress (To) rule.
type k8sPolicyRule struct {
	From  []k8sPolicyPeer `yaml:"from"`
	To    []k8sPolicyPeer `yaml:"to"`
	Ports []struct {
		Protocol string `yaml:"protocol"`
		Port     any    `yaml:"port"` // a number or a port name; absent: all
		EndPort  int    `yaml:"endPort"`
	} `yaml:"ports"`
}

type k8sPolicyPeer struct {
	PodSelector       *k8sSelector `yaml:"podSelector"`
	NamespaceSelector *k8sSelector `yaml:"namespaceSelector"`
	IPBlock           *struct {
		CIDR   string   `yaml:"cidr"`
		Except []string `yaml:"except"`
	} `yaml:"ipBlock"`
}

type k8sPodMonitor struct {
	k8sHeader `yaml:",inline"`
	Spec      struct {
		Selector          k8sSelector `yaml:"selector"`
		NamespaceSelector *struct {
			Any        bool     `yaml:"any"`
			MatchNames []string `yaml:"matchNames"`
		} `yaml:"namespaceSelector"`
		PodMetricsEndpoints []struct {
			Port     string `yaml:"port"`
			Path     string `yaml:"path"`
			Scheme   string `yaml:"scheme"`
			Interval string `yaml:"interval"`
		} `yaml:"podMetricsEndpoints"`
	} `yaml:"spec"`
}

type k8sPrometheusRule struct {
	k8sHeader `yaml:",inline"`
	Spec      struct {
		Groups []any `yaml:"groups"`
	} `yaml:"spec"`
}

// k8sManifests is everything under deploy/kubernetes.
type k8sManifests struct {
	namespaces      []k8sNamespace
	configMaps      map[string]k8sConfigMap
	secrets         map[string]k8sSecret
	deployments     map[string]k8sDeployment
	services        map[string]k8sService
	pdbs            []k8sPDB
	networkPolicies []k8sNetworkPolicy
	podMonitors     []k8sPodMonitor
	prometheusRules []k8sPrometheusRule
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
		if d.Name() == "kustomization.yaml" { // not an object: see TestKubernetes_kustomization
			return nil
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
			case "NetworkPolicy":
				var o k8sNetworkPolicy
				strictDecode(t, where, &doc, &o)
				m.networkPolicies = append(m.networkPolicies, o)
			case "PodMonitor":
				var o k8sPodMonitor
				strictDecode(t, where, &doc, &o)
				m.podMonitors = append(m.podMonitors, o)
			case "PrometheusRule":
				var o k8sPrometheusRule
				strictDecode(t, where, &doc, &o)
				m.prometheusRules = append(m.prometheusRules, o)
			default:
				t.Fatalf("%s: kind %q: teach kubernetes_test.go about it", where, h.Kind)
			}
			want := map[string]string{"Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
				"Deployment": "apps/v1", "PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1",
				"PodMonitor": "monitoring.coreos.com/v1", "PrometheusRule": "monitoring.coreos.com/v1"}[h.Kind]
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
	if len(m.secrets) == 0 {
		t.Fatalf("no example Secret")
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
	// Every example Secret key is there for a Deployment that takes it.
	taken := map[string]bool{}
	for _, d := range m.deployments {
		for _, ef := range d.Spec.Template.Spec.Containers[0].EnvFrom {
			if ef.SecretRef != nil {
				for k := range m.secrets[ef.SecretRef.Name].StringData {
					taken[k] = true
				}
			}
		}
	}
	for name, sec := range m.secrets {
		for k := range sec.StringData {
			if !taken[k] {
				t.Errorf("Secret %s: no Deployment takes key %s (envFrom)", name, k)
			}
		}
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
	case "NetworkPolicy":
		for _, p := range m.networkPolicies {
			if p.Metadata.Name == name {
				return p.Metadata.Namespace
			}
		}
	case "PodMonitor":
		for _, p := range m.podMonitors {
			if p.Metadata.Name == name {
				return p.Metadata.Namespace
			}
		}
	case "PrometheusRule":
		for _, p := range m.prometheusRules {
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
	checkPodMonitor(t, m, where, d, port)

	// The image is named only: kustomization.yaml (images:) sets the
	// registry and tag once for the three Deployments.
	if strings.ContainsAny(c.Image, ":@/") {
		t.Errorf("%s: image %q: name the image only (e.g. reglock); kustomization.yaml's images: sets registry and tag", where, c.Image)
	}

	// GOMEMLIMIT keeps the Go heap under the container's memory limit.
	checkGOMEMLIMIT(t, where, c)

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
	// The pod's role resolves only the ${NAME}s of the parts it uses
	// (config.Uses, as `reglock ROLE` loads it): its Secrets must hold all
	// of those, and nothing more.
	uses, ok := map[string]config.Uses{"api": {API: true}, "worker": {Registrars: true, Deliveries: true}, "scheduler": {}, "serve": config.UsesAll}[cmd.Name()]
	if !ok {
		t.Fatalf("%s: runs reglock %s, not a serving role", name, cmd.Name())
	}
	load := func(without string) (*config.Config, error) {
		return config.LoadFor(file, func(k string) (string, bool) {
			if k == without {
				return "", false
			}
			v, ok := env[k]
			return v, ok
		}, uses)
	}
	cfg, err := load("")
	if err != nil {
		t.Fatalf("%s: the ConfigMap's reglock.yaml as reglock %s loads it, with the pod's environment:\n%v", name, cmd.Name(), err)
	}
	for k := range fromSecrets {
		if _, err := load(k); err == nil {
			t.Errorf("%s: Secret key %s: reglock %s does not need it (the config loads without it): give a pod only its role's secrets", name, k, cmd.Name())
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

// checkPodMonitor: one PodMonitor scrapes the Deployment's pods, on the
// container port reglock serves /metrics on.
func checkPodMonitor(t *testing.T, m k8sManifests, where string, d k8sDeployment, port int) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	labels := d.Spec.Template.Metadata.Labels
	n := 0
	for _, pm := range m.podMonitors {
		if !selects(pm.Spec.Selector.MatchLabels, labels) || pm.Metadata.Namespace != d.Metadata.Namespace {
			continue
		}
		if ns := pm.Spec.NamespaceSelector; ns != nil && !ns.Any && !slices.Contains(ns.MatchNames, d.Metadata.Namespace) {
			continue
		}
		n++
		ok := false
		for _, e := range pm.Spec.PodMetricsEndpoints {
			if e.Port == "" || (e.Path != "" && e.Path != "/metrics") || (e.Scheme != "" && e.Scheme != "http") {
				continue
			}
			for _, cp := range c.Ports {
				if cp.Name == e.Port && cp.ContainerPort == port {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("PodMonitor %s: no podMetricsEndpoints entry scrapes http /metrics on the port named for %d, where %s serves it", pm.Metadata.Name, port, where)
		}
	}
	if n != 1 {
		t.Errorf("%s: %d PodMonitors select its pods, want 1", where, n)
	}
}

// checkGOMEMLIMIT: the container sets GOMEMLIMIT to 80-95% of its memory
// limit, so that the Go runtime collects harder before the kernel kills the
// pod at the limit. (A resourceFieldRef could only give 100% of it.)
func checkGOMEMLIMIT(t *testing.T, where string, c k8sContainer) {
	t.Helper()
	limit, err := parseQuantity(c.Resources.Limits["memory"])
	if err != nil {
		t.Errorf("%s: limits.memory: %v", where, err)
		return
	}
	suggest := fmt.Sprintf("%dMiB", limit*9/10>>20)
	value, found := "", false
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			value, found = e.Value, true
		}
	}
	if !found {
		t.Errorf("%s: no GOMEMLIMIT: set it to about 90%% of limits.memory %s (%s)", where, c.Resources.Limits["memory"], suggest)
		return
	}
	soft, err := parseGoMemLimit(value)
	if err != nil {
		t.Errorf("%s: GOMEMLIMIT: %v", where, err)
		return
	}
	if r := float64(soft) / float64(limit); r < 0.80 || r > 0.95 {
		t.Errorf("%s: GOMEMLIMIT %s is %.0f%% of limits.memory %s: want 80-95%% (about %s)", where, value, 100*r, c.Resources.Limits["memory"], suggest)
	}
}

var quantityRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`)

// parseQuantity parses a Kubernetes memory quantity (128Mi, 1G, 500000000).
func parseQuantity(q string) (int64, error) {
	m := quantityRE.FindStringSubmatch(q)
	if m == nil {
		return 0, fmt.Errorf("%q is not a quantity this test knows (e.g. 256Mi)", q)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]float64{"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
		"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}[m[2]]
	return int64(n * mult), nil
}

var goMemLimitRE = regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`)

// parseGoMemLimit parses GOMEMLIMIT as the Go runtime does: bytes, with an
// optional B, KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(v string) (int64, error) {
	m := goMemLimitRE.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("%q: want a number of bytes with an optional B, KiB, MiB, GiB or TiB suffix (the Go runtime ignores anything else)", v)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	return n << map[string]int{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]], nil
}

func TestKubernetes_quantities(t *testing.T) {
	for q, want := range map[string]int64{"256Mi": 256 << 20, "1Gi": 1 << 30, "1G": 1e9, "500M": 5e8, "1.5Gi": 3 << 29, "1048576": 1 << 20} {
		if got, err := parseQuantity(q); err != nil || got != want {
			t.Errorf("parseQuantity(%q) = %d, %v; want %d", q, got, err, want)
		}
	}
	for v, want := range map[string]int64{"230MiB": 230 << 20, "1GiB": 1 << 30, "123": 123, "4096B": 4096} {
		if got, err := parseGoMemLimit(v); err != nil || got != want {
			t.Errorf("parseGoMemLimit(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"230Mi", "230M", "230 MiB", "off", ""} {
		if _, err := parseGoMemLimit(v); err == nil {
			t.Errorf("parseGoMemLimit(%q): no error", v)
		}
	}
}

// policySelects says whether a NetworkPolicy applies to pods with labels
// (an empty podSelector selects every pod of its namespace).
func policySelects(np k8sNetworkPolicy, labels map[string]string) bool {
	return matchesLabels(np.Spec.PodSelector.MatchLabels, labels)
}

// matchesLabels is a label selector in a NetworkPolicy: empty matches all.
func matchesLabels(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// hasPolicyType is a policy's policyTypes, with the API's defaults.
func hasPolicyType(np k8sNetworkPolicy, typ string) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return typ == "Ingress" || (typ == "Egress" && len(np.Spec.Egress) > 0)
	}
	return slices.Contains(np.Spec.PolicyTypes, typ)
}

// ruleAllowsPort says whether a rule's ports let proto/n through; c
// resolves named ports (nil for egress, where names do not apply).
func ruleAllowsPort(r k8sPolicyRule, proto string, n int, c *k8sContainer) bool {
	if len(r.Ports) == 0 {
		return true
	}
	for _, p := range r.Ports {
		if pp := cmpOr(p.Protocol, "TCP"); pp != proto {
			continue
		}
		switch v := p.Port.(type) {
		case nil:
			return true
		case int:
			if n == v || (p.EndPort > 0 && n >= v && n <= p.EndPort) {
				return true
			}
		case string:
			if c != nil {
				for _, cp := range c.Ports {
					if cp.Name == v && cp.ContainerPort == n {
						return true
					}
				}
			}
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// policyRules returns the rules of the policies of type typ that select
// pods with labels and let proto/n through.
func policyRules(m k8sManifests, typ string, labels map[string]string, proto string, n int, c *k8sContainer) []k8sPolicyRule {
	var out []k8sPolicyRule
	for _, np := range m.networkPolicies {
		if !policySelects(np, labels) || !hasPolicyType(np, typ) {
			continue
		}
		rules := np.Spec.Ingress
		if typ == "Egress" {
			rules = np.Spec.Egress
		}
		for _, r := range rules {
			if ruleAllowsPort(r, proto, n, c) {
				out = append(out, r)
			}
		}
	}
	return out
}

// urlPort is a URL's port, or its scheme's.
func urlPort(t *testing.T, raw string) (string, int) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443", "redis": "6379", "rediss": "6379"}[u.Scheme]
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: port %q", raw, p)
	}
	return u.Hostname(), n
}

// The namespace denies ingress by default; every port a pod listens on is
// let in by a policy (Prometheus's namespace for the metrics port); egress
// reaches DNS, Redis, and every registrar, webhook and RDAP endpoint the
// configuration names; Redis lets reglock in.
func TestKubernetes_networkPolicies(t *testing.T) {
	m := loadKubernetes(t)
	denyAll := false
	for _, np := range m.networkPolicies {
		if len(np.Spec.PodSelector.MatchLabels) == 0 && hasPolicyType(np, "Ingress") && len(np.Spec.Ingress) == 0 {
			denyAll = true
		}
	}
	if !denyAll {
		t.Error("no default-deny ingress NetworkPolicy (podSelector: {}, policyTypes: [Ingress], no rules)")
	}

	for name, d := range m.deployments {
		where := m.files["Deployment/"+name] + ": " + name
		c := d.Spec.Template.Spec.Containers[0]
		labels := d.Spec.Template.Metadata.Labels
		cfg := deploymentConfig(t, m, name, d)

		// Ingress: every container port, and the metrics port from a
		// namespace picked by a namespaceSelector (Prometheus's).
		for _, cp := range c.Ports {
			if len(policyRules(m, "Ingress", labels, "TCP", cp.ContainerPort, &c)) == 0 {
				t.Errorf("%s: no NetworkPolicy lets anything in on port %s (%d)", where, cp.Name, cp.ContainerPort)
			}
		}
		listen := cfg.Worker.Listen
		if d.Spec.Template.Metadata.Labels["app.kubernetes.io/component"] == "api" {
			listen = cfg.API.Listen
		}
		_, metricsPort := hostPort(t, where, listen)
		scraped := false
		for _, r := range policyRules(m, "Ingress", labels, "TCP", metricsPort, &c) {
			for _, p := range r.From {
				if p.NamespaceSelector != nil && len(p.NamespaceSelector.MatchLabels) > 0 {
					scraped = true
				}
			}
		}
		if !scraped {
			t.Errorf("%s: no NetworkPolicy lets Prometheus (a namespaceSelector naming its namespace) in on the metrics port %d", where, metricsPort)
		}

		// Egress.
		restricted := false
		for _, np := range m.networkPolicies {
			if policySelects(np, labels) && hasPolicyType(np, "Egress") {
				restricted = true
			}
		}
		if !restricted {
			t.Errorf("%s: no egress NetworkPolicy selects its pods: they may connect anywhere", where)
			continue
		}
		for _, proto := range []string{"UDP", "TCP"} {
			ok := false
			for _, r := range policyRules(m, "Egress", labels, proto, 53, nil) {
				for _, p := range r.To {
					ok = ok || p.NamespaceSelector != nil
				}
				ok = ok || len(r.To) == 0
			}
			if !ok {
				t.Errorf("%s: egress to the cluster's DNS (%s 53, in its namespace) is not allowed", where, proto)
			}
		}
		var redis []string
		if cfg.Redis.URL != "" {
			redis = append(redis, cfg.Redis.URL)
		}
		if cfg.Redis.Sentinel != nil {
			for _, a := range cfg.Redis.Sentinel.Addrs {
				redis = append(redis, "redis://"+a)
			}
		}
		if cfg.Redis.Cluster != nil {
			for _, a := range cfg.Redis.Cluster.Addrs {
				redis = append(redis, "redis://"+a)
			}
		}
		if len(redis) == 0 {
			t.Errorf("%s: no Redis configured", where)
		}
		for _, addr := range redis {
			_, port := urlPort(t, addr)
			rules := policyRules(m, "Egress", labels, "TCP", port, nil)
			if len(rules) == 0 {
				t.Errorf("%s: egress to Redis (port %d) is not allowed", where, port)
			}
			// The Redis pods the egress rule names must let reglock in:
			// the default deny covers them too.
			for _, r := range rules {
				for _, p := range r.To {
					if p.PodSelector == nil || p.NamespaceSelector != nil {
						continue
					}
					in := false
					for _, ir := range policyRules(m, "Ingress", p.PodSelector.MatchLabels, "TCP", port, nil) {
						for _, from := range ir.From {
							in = in || (from.PodSelector != nil && from.NamespaceSelector == nil && matchesLabels(from.PodSelector.MatchLabels, labels))
						}
						in = in || len(ir.From) == 0
					}
					if !in {
						t.Errorf("%s: the Redis pods %v do not let its pods in on port %d", where, p.PodSelector.MatchLabels, port)
					}
				}
			}
		}
		var external []string
		for _, p := range cfg.Providers {
			external = append(external, p.Endpoint)
		}
		for _, n := range cfg.Notifications {
			external = append(external, n.URL)
		}
		if cfg.RDAP.Enabled {
			external = append(external, cmpOr(cfg.RDAP.Bootstrap, "https://data.iana.org/rdap/dns.json"))
			for _, s := range cfg.RDAP.Servers {
				if s != "" {
					external = append(external, s)
				}
			}
		}
		for _, e := range external {
			host, port := urlPort(t, e)
			ok := false
			for _, r := range policyRules(m, "Egress", labels, "TCP", port, nil) {
				for _, p := range r.To {
					ok = ok || p.IPBlock != nil
				}
				ok = ok || len(r.To) == 0
			}
			if !ok {
				t.Errorf("%s: egress to %s port %d (outside the cluster: an ipBlock) is not allowed", where, host, port)
			}
		}
	}
}

type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Resources  []string `yaml:"resources"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v (a field that is legitimately new belongs in kustomization)", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s/kustomization.yaml: apiVersion %q kind %q, want kustomize.config.k8s.io/v1beta1 Kustomization", dir, k.APIVersion, k.Kind)
	}
	return k
}

// kustomizedFiles lists the files (relative to base) that the
// kustomization in dir takes in, following directories; each kustomization
// must list every YAML file beside it and every directory below it that has
// a kustomization.yaml.
func kustomizedFiles(t *testing.T, base, dir string) []string {
	t.Helper()
	k := readKustomization(t, dir)
	rel := func(p string) string { r, _ := filepath.Rel(base, p); return r }
	listed := map[string]bool{}
	var files []string
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s/kustomization.yaml: resource %s: %v", rel(dir), r, err)
			continue
		}
		listed[filepath.Clean(p)] = true
		if fi.IsDir() {
			files = append(files, kustomizedFiles(t, base, p)...)
		} else {
			files = append(files, rel(p))
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		_, err := os.Stat(filepath.Join(p, "kustomization.yaml"))
		switch {
		case e.IsDir() && err == nil, !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") && e.Name() != "kustomization.yaml":
			if !listed[p] {
				t.Errorf("%s/kustomization.yaml does not list %s: kubectl apply -k would leave it out", rel(dir), e.Name())
			}
		}
	}
	return files
}

// deploy/kubernetes is applied with kubectl apply -k: the kustomization
// takes in every object but the example Secret, and sets the image that
// the Deployments only name. With kubectl installed, the test builds it.
func TestKubernetes_kustomization(t *testing.T) {
	m := loadKubernetes(t)
	dir := filepath.Join(repoRoot(t), "deploy", "kubernetes")
	files := kustomizedFiles(t, dir, dir)
	want := map[string]bool{} // Kind/name
	for key, file := range m.files {
		in := slices.Contains(files, file)
		if strings.HasPrefix(key, "Secret/") {
			if in {
				t.Errorf("kustomization.yaml takes in %s (%s): its values are fake; the Secret is created by hand", file, key)
			}
			continue
		}
		if !in {
			t.Errorf("kustomization.yaml does not take in %s (%s)", file, key)
		}
		want[key] = true
	}

	k := readKustomization(t, dir)
	images := map[string]string{} // name -> what kustomize makes of it
	for _, im := range k.Images {
		ref := cmpOr(im.NewName, im.Name)
		switch {
		case im.Digest != "":
			ref += "@" + im.Digest
		case im.NewTag != "":
			ref += ":" + im.NewTag
		default:
			t.Errorf("kustomization.yaml: image %s: set newTag or digest: a bare name means :latest", im.Name)
		}
		images[im.Name] = ref
	}
	for name, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			if _, ok := images[c.Image]; !ok {
				t.Errorf("Deployment %s: image %q is not one that kustomization.yaml's images: sets (%v)", name, c.Image, slices.Sorted(maps.Keys(images)))
			}
		}
	}

	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl is not installed: not building the kustomization")
		return
	}
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, ee.Stderr)
		}
		t.Fatalf("kubectl kustomize: %v", err)
	}
	got := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o struct {
			k8sHeader `yaml:",inline"`
			Spec      struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name  string `yaml:"name"`
							Image string `yaml:"image"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kubectl kustomize output: %v", err)
		}
		key := o.Kind + "/" + o.Metadata.Name
		got[key] = true
		if o.Kind == "Deployment" {
			for _, c := range o.Spec.Template.Spec.Containers {
				if !slices.Contains(slices.Collect(maps.Values(images)), c.Image) {
					t.Errorf("kubectl kustomize: %s container %s runs %q, want one of kustomization.yaml's images %v", key, c.Name, c.Image, images)
				}
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("kubectl kustomize makes %v,\nwant %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

// The PrometheusRule carries exactly the groups of deploy/prometheus/alerts.yaml,
// from which it is generated (-update rewrites it).
var updatePrometheusRule = flag.Bool("update", false, "rewrite deploy/kubernetes/monitoring/prometheusrule.yaml from deploy/prometheus/alerts.yaml")

const (
	alertsPath         = "deploy/prometheus/alerts.yaml"
	prometheusRulePath = "deploy/kubernetes/monitoring/prometheusrule.yaml"
	regenerateRule     = "go test ./cmd/reglock -run TestKubernetes_prometheusRule -update"
)

const prometheusRuleHeader = `# GENERATED from deploy/prometheus/alerts.yaml: do not edit. After changing alerts.yaml, run
#   ` + regenerateRule + `
# (cmd/reglock/kubernetes_test.go fails while the two differ). The Prometheus Operator loads these
# rules; your Prometheus must select them: kube-prometheus-stack takes only PrometheusRules labelled
# release: <its release name> by default (see its ruleSelector).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: reglock
  namespace: reglock
  labels:
    app.kubernetes.io/name: reglock
spec:
`

// prometheusRuleFrom makes the PrometheusRule from alerts.yaml: its
// top-level groups: block, comments and line breaks as they are, indented
// under spec:. It checks that the result holds the same groups.
func prometheusRuleFrom(alerts []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(alerts), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimRight(l, " \t\r\n") == "groups:" {
			start = i
			break
		}
	}
	var b strings.Builder
	b.WriteString(prometheusRuleHeader)
	if start >= 0 {
		end := len(lines)
		for i := start + 1; i < len(lines); i++ {
			if l := lines[i]; l != "" && !strings.ContainsAny(l[:1], " \t\r\n#") {
				end = i // the next top-level key, or a document marker
				break
			}
		}
		block := lines[start:end]
		for len(block) > 0 && strings.TrimSpace(block[len(block)-1]) == "" {
			block = block[:len(block)-1]
		}
		for _, l := range block {
			if strings.TrimSpace(l) != "" {
				b.WriteString("  ")
			}
			b.WriteString(strings.TrimRight(l, " \t\r\n") + "\n")
		}
	} else {
		// Not a plain block (flow style?): re-encode the groups instead.
		var f struct {
			Groups yaml.Node `yaml:"groups"`
		}
		if err := yaml.Unmarshal(alerts, &f); err != nil {
			return nil, err
		}
		if f.Groups.Kind == 0 {
			return nil, errors.New("no top-level groups:")
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(map[string]*yaml.Node{"groups": &f.Groups}); err != nil {
			return nil, err
		}
		for _, l := range strings.SplitAfter(strings.TrimRight(buf.String(), "\n"), "\n") {
			b.WriteString("  " + l)
		}
		b.WriteString("\n")
	}
	out := []byte(b.String())
	if diff := ruleGroupsDiff(alerts, out); diff != "" {
		return nil, fmt.Errorf("the PrometheusRule made from alerts.yaml holds other groups (a bug in prometheusRuleFrom): %s", diff)
	}
	return out, nil
}

// ruleGroupsDiff compares alerts.yaml's groups with a PrometheusRule's
// spec.groups as data: "" when equal, else what differs.
func ruleGroupsDiff(alerts, rule []byte) string {
	var a struct {
		Groups []any `yaml:"groups"`
	}
	var r struct {
		Spec struct {
			Groups []any `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(alerts, &a); err != nil {
		return "alerts.yaml: " + err.Error()
	}
	if err := yaml.Unmarshal(rule, &r); err != nil {
		return "PrometheusRule: " + err.Error()
	}
	if reflect.DeepEqual(a.Groups, r.Spec.Groups) {
		return ""
	}
	// Name the rules that differ.
	index := func(groups []any) map[string]any {
		out := map[string]any{}
		for gi, g := range groups {
			gm, _ := g.(map[string]any)
			rules, _ := gm["rules"].([]any)
			for ri, rl := range rules {
				rm, _ := rl.(map[string]any)
				name := fmt.Sprintf("%v/%v", gm["name"], cmpOr(fmt.Sprint(rm["alert"]), fmt.Sprint(rm["record"])))
				if rm == nil {
					name = fmt.Sprintf("group %d rule %d", gi, ri)
				}
				out[name] = rl
			}
			settings := maps.Clone(gm)
			delete(settings, "rules")
			out[fmt.Sprintf("group %v (its settings)", gm["name"])] = settings
		}
		return out
	}
	ai, ri := index(a.Groups), index(r.Spec.Groups)
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(ai)) {
		if v, ok := ri[k]; !ok {
			diffs = append(diffs, k+" missing")
		} else if !reflect.DeepEqual(v, ai[k]) {
			diffs = append(diffs, k+" differs")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(ri)) {
		if _, ok := ai[k]; !ok {
			diffs = append(diffs, k+" not in alerts.yaml")
		}
	}
	if len(diffs) == 0 {
		diffs = append(diffs, "the order of groups or rules")
	}
	return strings.Join(diffs, ", ")
}

func TestKubernetes_prometheusRule(t *testing.T) {
	root := repoRoot(t)
	alerts, err := os.ReadFile(filepath.Join(root, alertsPath))
	if err != nil {
		t.Fatal(err)
	}
	want, err := prometheusRuleFrom(alerts)
	if err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	path := filepath.Join(root, prometheusRulePath)
	if *updatePrometheusRule {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", prometheusRulePath)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: generate it with\n\t%s", err, regenerateRule)
	}
	if !bytes.Equal(got, want) {
		why := ruleGroupsDiff(alerts, got)
		if why == "" {
			why = "the same rules, written differently"
		}
		t.Errorf("%s is not what %s makes (%s): regenerate it with\n\t%s", prometheusRulePath, alertsPath, why, regenerateRule)
	}

	m := loadKubernetes(t)
	if len(m.prometheusRules) != 1 {
		t.Fatalf("want one PrometheusRule, got %d", len(m.prometheusRules))
	}
}
