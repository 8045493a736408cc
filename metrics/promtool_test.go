package metrics

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"gopkg.in/yaml.v3"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
)

// The alert rules are checked and unit tested by Prometheus's own promtool
// (deploy/prometheus/alerts_test.yaml: a scenario per alert, and a fresh
// and a healthy installation in which nothing fires), and the fresh
// installation scenario is held to what a fresh installation exports.

const alertsTestFile = "../deploy/prometheus/alerts_test.yaml"

// The groups of alerts_test.yaml in which no alert may fire.
const (
	freshGroup   = "fresh install"
	healthyGroup = "healthy install"
)

// promtool returns the promtool to run. Tests are never skipped: CI runs
// them through scripts/with-promtool.sh, which provides it.
func promtool(t *testing.T) string {
	t.Helper()
	p := os.Getenv("REGLOCK_PROMTOOL")
	if p == "" {
		t.Fatal("REGLOCK_PROMTOOL is not set: these tests run Prometheus's promtool on deploy/prometheus. " +
			"Run them through scripts/with-promtool.sh (it finds promtool, or installs Debian's prometheus package, and sets it), " +
			"e.g. ./scripts/with-promtool.sh go test ./metrics/, or set REGLOCK_PROMTOOL=/path/to/promtool")
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

func TestAlerts_promtoolCheckRules(t *testing.T) {
	runPromtool(t, filepath.Dir(alertsFile), "check", "rules", filepath.Base(alertsFile))
}

func TestAlerts_promtoolTestRules(t *testing.T) {
	runPromtool(t, filepath.Dir(alertsTestFile), "test", "rules", filepath.Base(alertsTestFile))
}

// promTests is a promtool unit test file.
type promTests struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval string   `yaml:"evaluation_interval"`
	Tests              []struct {
		Name        string `yaml:"name"`
		Interval    string `yaml:"interval"`
		InputSeries []struct {
			Series string `yaml:"series"`
			Values string `yaml:"values"`
		} `yaml:"input_series"`
		AlertRuleTests []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readPromTests(t *testing.T) promTests {
	t.Helper()
	data, err := os.ReadFile(alertsTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var pt promTests
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&pt); err != nil {
		t.Fatalf("%s: %v", alertsTestFile, err)
	}
	return pt
}

func readAlertNames(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
		}
	}
	return names
}

// Every alert fires in a scenario of its own, and is checked to stay
// silent throughout the fresh and the healthy installation; the scenarios
// name only alerts that exist.
func TestAlertsTest_coversEveryAlert(t *testing.T) {
	pt := readPromTests(t)
	names := readAlertNames(t)
	if len(pt.RuleFiles) != 1 || pt.RuleFiles[0] != filepath.Base(alertsFile) {
		t.Errorf("%s: rule_files %v, want [%s]", alertsTestFile, pt.RuleFiles, filepath.Base(alertsFile))
	}
	fires := map[string][]string{}
	silentIn := map[string]map[string]map[string]bool{freshGroup: {}, healthyGroup: {}} // group -> alert -> eval times
	times := map[string]map[string]bool{freshGroup: {}, healthyGroup: {}}
	groups := map[string]bool{}
	for _, g := range pt.Tests {
		if g.Name == "" || groups[g.Name] {
			t.Errorf("%s: a test group without a name, or named twice: %q", alertsTestFile, g.Name)
		}
		groups[g.Name] = true
		for _, at := range g.AlertRuleTests {
			if !slices.Contains(names, at.Alertname) {
				t.Errorf("%s: group %q tests %s, which alerts.yaml does not have", alertsTestFile, g.Name, at.Alertname)
			}
			if s, ok := silentIn[g.Name]; ok {
				if len(at.ExpAlerts) > 0 {
					t.Errorf("%s: %s is expected to fire in %q: nothing may fire there", alertsTestFile, at.Alertname, g.Name)
				}
				if s[at.Alertname] == nil {
					s[at.Alertname] = map[string]bool{}
				}
				s[at.Alertname][at.EvalTime] = true
				times[g.Name][at.EvalTime] = true
				continue
			}
			if len(at.ExpAlerts) > 0 {
				fires[at.Alertname] = append(fires[at.Alertname], g.Name)
				for _, e := range at.ExpAlerts {
					if e.ExpAnnotations["summary"] == "" || e.ExpAnnotations["description"] == "" {
						t.Errorf("%s: group %q: %s at %s: expect its summary and description (exp_annotations), so that their templates are tested",
							alertsTestFile, g.Name, at.Alertname, at.EvalTime)
					}
				}
			}
		}
	}
	for _, name := range names {
		if len(fires[name]) == 0 {
			t.Errorf("%s: no scenario in which %s fires", alertsTestFile, name)
		}
		for g, s := range silentIn {
			if len(times[g]) == 0 {
				t.Fatalf("%s: no group %q", alertsTestFile, g)
			}
			for tm := range times[g] {
				if !s[name][tm] {
					t.Errorf("%s: group %q does not check that %s stays silent at %s", alertsTestFile, g, name, tm)
				}
			}
		}
	}
}

// The scenarios' series are series reglock exports (or Prometheus's own
// up), with labels and label values reglock gives them: a scenario of a
// series that does not exist tests nothing.
func TestAlertsTest_seriesAreExported(t *testing.T) {
	pt := readPromTests(t)
	m, known := exportedMetrics(t)
	for _, g := range pt.Tests {
		seen := map[string]bool{}
		for _, s := range g.InputSeries {
			where := fmt.Sprintf("%s: group %q: series %s", filepath.Base(alertsTestFile), g.Name, s.Series)
			if seen[s.Series] {
				t.Errorf("%s: given twice", where)
			}
			seen[s.Series] = true
			sels, err := selectors(s.Series)
			if err != nil || len(sels) != 1 {
				t.Errorf("%s: not one series: %v", where, err)
				continue
			}
			for _, mt := range sels[0].matchers {
				if mt.op != "=" {
					t.Errorf("%s: a series takes label=value pairs, not %s", where, mt)
				}
			}
			checkSelector(t, where, m, known, sels[0])
		}
	}
}

// The fresh installation scenario is exactly what a fresh installation
// exports: every series (but the Go runtime's and the process's) a scrape
// of the collectors shows over an empty store on a real Redis, with its
// value, and nothing else. A new series that a fresh installation
// exports must go into the scenario, where every alert is checked against
// it.
func TestAlertsTest_freshInstallIsWhatAFreshInstallExports(t *testing.T) {
	env := redistest.New(t)
	ns := tasks.Namespace(env.Namespace)
	prefix := env.StorePrefix()
	m := New()
	m.WatchSweeps(sweep.New(env.Client, prefix))
	m.WatchQueues(asynq.NewInspectorFromRedisClient(env.Client),
		[]string{ns.Queue(tasks.QueueChanges), ns.Queue(tasks.QueueFixes), ns.Queue(tasks.QueueChecks), ns.Queue(notify.Queue)})
	m.WatchBreakers(func(ctx context.Context) (map[string]breaker.Status, error) {
		return breaker.Report(ctx, env.Client, breaker.Key(prefix), time.Now())
	})
	m.WatchStore(func() StoreStatus { return StoreStatus{ID: "3f9c0a1b2c3d4e5f", State: "ok"} })
	m.WatchWork(store.New(env.Client, prefix))

	// Label values that differ between installations and builds.
	anyValue := map[string]bool{"store_id": true, "version": true, "revision": true, "goversion": true}
	key := func(name string, labels map[string]string) string {
		var b strings.Builder
		b.WriteString(name)
		for _, l := range slices.Sorted(maps.Keys(labels)) {
			v := labels[l]
			if anyValue[l] {
				v = "*"
			}
			if l == "queue" {
				v = strings.TrimPrefix(v, env.Namespace+":")
			}
			fmt.Fprintf(&b, ",%s=%q", l, v)
		}
		return b.String()
	}
	exported := map[string]float64{}
	for range 2 { // the second scrape reads the queues and the work figures again
		mfs, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		clear(exported)
		for _, mf := range mfs {
			if strings.HasPrefix(mf.GetName(), "go_") || strings.HasPrefix(mf.GetName(), "process_") {
				continue
			}
			for _, mt := range mf.GetMetric() {
				labels := map[string]string{}
				for _, lp := range mt.GetLabel() {
					labels[lp.GetName()] = lp.GetValue()
				}
				v := mt.GetGauge().GetValue() + mt.GetCounter().GetValue() + mt.GetUntyped().GetValue()
				exported[key(mf.GetName(), labels)] = v
			}
		}
	}

	pt := readPromTests(t)
	scenario := map[string]float64{}
	found := false
	firstValue := regexp.MustCompile(`^\s*(-?[0-9.]+)`)
	for _, g := range pt.Tests {
		if g.Name != freshGroup {
			continue
		}
		found = true
		for _, s := range g.InputSeries {
			sels, err := selectors(s.Series)
			if err != nil || len(sels) != 1 {
				t.Fatalf("%s: %v", s.Series, err)
			}
			if sels[0].name == "up" {
				continue
			}
			labels := map[string]string{}
			for _, mt := range sels[0].matchers {
				if mt.label != "job" && mt.label != "instance" {
					labels[mt.label] = mt.value
				}
			}
			v := firstValue.FindStringSubmatch(s.Values)
			if v == nil {
				t.Fatalf("%s: values %q do not start with a number", s.Series, s.Values)
			}
			f, _ := strconv.ParseFloat(v[1], 64)
			scenario[key(sels[0].name, labels)] = f
		}
	}
	if !found {
		t.Fatalf("%s has no group %q", alertsTestFile, freshGroup)
	}
	for _, k := range slices.Sorted(maps.Keys(exported)) {
		v, ok := scenario[k]
		switch {
		case !ok:
			t.Errorf("a fresh installation exports %s %v, which the %q scenario of %s lacks", k, exported[k], freshGroup, filepath.Base(alertsTestFile))
		case v != exported[k]:
			t.Errorf("a fresh installation exports %s %v; the %q scenario starts it at %v", k, exported[k], freshGroup, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(scenario)) {
		if _, ok := exported[k]; !ok {
			t.Errorf("the %q scenario has %s, which a fresh installation does not export", freshGroup, k)
		}
	}
	for _, name := range []string{"reglock_queue_metrics_errors_total", "reglock_sweep_metrics_errors_total",
		"reglock_breaker_metrics_errors_total", "reglock_work_metrics_errors_total"} {
		if v, ok := exported[name]; !ok || v != 0 {
			t.Errorf("a fresh installation: %s = %v (exported: %v), want 0", name, v, ok)
		}
	}
}
