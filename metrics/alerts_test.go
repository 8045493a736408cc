package metrics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
)

// The alert rules in deploy/prometheus/alerts.yaml may only use metrics,
// labels and label values that reglock exports, so that renaming any of
// them fails here instead of silencing an alert.

const alertsFile = "../deploy/prometheus/alerts.yaml"

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name     string      `yaml:"name"`
		Interval string      `yaml:"interval"`
		Rules    []alertRule `yaml:"rules"`
	} `yaml:"groups"`
}

// exported is what the test knows about one metric: its label names, and
// for some labels every value reglock gives them.
type exported struct {
	labels map[string]map[string]bool // label -> known values; nil: any value
}

func TestAlerts_useWhatReglockExports(t *testing.T) {
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	m, known := exportedMetrics(t)

	names := map[string]bool{}
	rules := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			rules++
			where := fmt.Sprintf("%s: group %s: alert %s", filepath.Base(alertsFile), g.Name, r.Alert)
			if r.Alert == "" || r.Record != "" {
				t.Errorf("%s: want alerting rules only (alert set, no record)", where)
			}
			if names[r.Alert] {
				t.Errorf("%s: alert name used twice", where)
			}
			names[r.Alert] = true
			if r.For != "" && !promDuration.MatchString(r.For) {
				t.Errorf("%s: for %q is not a Prometheus duration", where, r.For)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("%s: labels.severity %q, want critical, warning or info", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want annotations summary and description", where)
			}
			sels, err := selectors(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if len(sels) == 0 {
				t.Errorf("%s: expr uses no metric", where)
			}
			for _, s := range sels {
				checkSelector(t, where, m, known, s)
			}
		}
	}
	if rules == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}
}

// prometheusMade are the series Prometheus itself writes for each target
// it scrapes (the rules may use them; reglock does not export them).
var prometheusMade = map[string]bool{"up": true}

var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

// checkSelector checks one vector selector against what reglock exports.
func checkSelector(t *testing.T, where string, m *Metrics, known map[string]exported, s selector) {
	t.Helper()
	name := s.name
	bucket := false
	if !registered(m, name) && !prometheusMade[name] {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if base == name || !registered(m, base) {
			t.Errorf("%s: %s is not a metric reglock exports", where, name)
			return
		}
		bucket = strings.HasSuffix(name, "_bucket")
		name = base
	}
	info, ok := known[name]
	if !ok {
		if len(s.matchers) > 0 {
			t.Errorf("%s: %s is registered, but this test cannot see its labels to check %v: add it to exportedMetrics", where, name, s.matchers)
		}
		return
	}
	for _, mt := range s.matchers {
		values, ok := info.labels[mt.label]
		if !ok && bucket && mt.label == "le" {
			continue // a histogram bucket's bound
		}
		if !ok {
			t.Errorf("%s: %s has no label %q (labels: %v)", where, name, mt.label, sortedKeys(info.labels))
			continue
		}
		if values == nil || mt.op == "!=" || mt.op == "!~" {
			continue
		}
		switch mt.op {
		case "=":
			if !values[mt.value] {
				t.Errorf("%s: %s{%s=%q}: reglock never sets that value (it does: %v)", where, name, mt.label, mt.value, sortedKeys(values))
			}
		case "=~":
			re, err := regexp.Compile("^(?:" + mt.value + ")$")
			if err != nil {
				t.Errorf("%s: %s{%s=~%q}: %v", where, name, mt.label, mt.value, err)
				continue
			}
			for _, alt := range strings.Split(mt.value, "|") {
				// Each literal alternative must be a real value, so that a
				// renamed one is noticed; patterns must match at least one.
				if regexp.QuoteMeta(alt) == alt && !values[alt] {
					t.Errorf("%s: %s{%s=~%q}: reglock never sets %q (it does: %v)", where, name, mt.label, mt.value, alt, sortedKeys(values))
				}
			}
			matched := false
			for v := range values {
				matched = matched || re.MatchString(v)
			}
			if !matched {
				t.Errorf("%s: %s{%s=~%q} matches none of %v", where, name, mt.label, mt.value, sortedKeys(values))
			}
		}
	}
}

// registered reports whether m's registry has a metric called name: a
// probe with that name and a different help string cannot be registered
// next to it.
func registered(m *Metrics, name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "alerts_test probe"})
	if err := m.Registry.Register(probe); err != nil {
		return true
	}
	m.Registry.Unregister(probe)
	return false
}

// exportedMetrics builds the registry a reglock process has (New plus the
// queue and sweep collectors, over an in-memory Redis) and collects what
// it can see of every metric: label names from the descriptors of the
// exported vectors and from a scrape, label values where reglock's own
// code enumerates them.
func exportedMetrics(t *testing.T) (*Metrics, map[string]exported) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })

	m := New()
	var ns tasks.Namespace
	queues := []string{ns.Queue(tasks.QueueChanges), ns.Queue(tasks.QueueFixes), ns.Queue(tasks.QueueChecks), ns.Queue(notify.Queue)}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	m.WatchQueues(insp, queues)
	// One provider's figures from a finished sweep, in the form
	// sweep.Records keeps them (see its lastKey), so that the sweep
	// collector has something to export.
	const prefix = "rl:"
	if err := rdb.HSet(context.Background(), prefix+"sweeps:last", "enom-main",
		fmt.Sprintf("10|2|1|0|%d|0", time.Now().UnixMilli())).Err(); err != nil {
		t.Fatal(err)
	}
	// One account's freshness plan (scheduler.freshness), with a budget
	// and a reading.
	if err := sweep.New(rdb, prefix).SetFreshness(context.Background(), []sweep.AccountFreshness{{Provider: "enom-main",
		Domains: 10, Oldest: time.Now().Add(-time.Hour), Budget: 4, Covers: time.Hour, Period: 24 * time.Hour, At: time.Now()}}, true); err != nil {
		t.Fatal(err)
	}
	m.WatchSweeps(sweep.New(rdb, prefix))
	// One open breaker, as breaker.Set shares it.
	m.WatchBreakers(func(context.Context) (map[string]breaker.Status, error) {
		return map[string]breaker.Status{"enom-main": {State: breaker.Open, Reason: "refused"}}, nil
	})
	m.WatchStore(func() StoreStatus { return StoreStatus{ID: "0123456789abcdef", State: "ok"} })
	m.WatchWork(store.New(rdb, prefix))
	// A running scheduled sweep, so that the newest sweep's figures show.
	if _, err := sweep.New(rdb, prefix).Create(context.Background(), "s1", sweep.Options{Trigger: "schedule"}, time.Now()); err != nil {
		t.Fatal(err)
	}

	known := map[string]exported{}
	add := func(name, label, value string) {
		e, ok := known[name]
		if !ok {
			e = exported{labels: map[string]map[string]bool{}}
			known[name] = e
		}
		if _, ok := e.labels[label]; !ok {
			e.labels[label] = nil
		}
		if value != "" {
			if e.labels[label] == nil {
				e.labels[label] = map[string]bool{}
			}
			e.labels[label][value] = true
		}
	}

	// The vectors' label names, from their descriptors.
	descName := regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels := regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		c, ok := v.Field(i).Interface().(prometheus.Collector)
		if !ok || v.Type().Field(i).Name == "Registry" {
			continue
		}
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			s := d.String()
			n := descName.FindStringSubmatch(s)
			l := descLabels.FindStringSubmatch(s)
			if n == nil || l == nil {
				t.Fatalf("cannot read descriptor %s", s)
			}
			known[n[1]] = exported{labels: map[string]map[string]bool{}}
			for _, lb := range strings.Split(l[1], ",") {
				lb = strings.TrimSpace(lb)
				if strings.HasPrefix(lb, "c(") && strings.HasSuffix(lb, ")") { // a constrained label
					lb = lb[2 : len(lb)-1]
				}
				if lb != "" {
					add(n[1], lb, "")
				}
			}
		}
	}

	// Everything a scrape shows, with the values it shows for the
	// collectors that read Redis (their label values are fixed sets).
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				value := ""
				if strings.HasPrefix(mf.GetName(), "asynq_") || enumerated[mf.GetName()] == lp.GetName() {
					value = lp.GetValue()
				}
				add(mf.GetName(), lp.GetName(), value)
			}
			if len(metric.GetLabel()) == 0 {
				add(mf.GetName(), "", "")
				delete(known[mf.GetName()].labels, "")
			}
		}
	}
	for _, name := range []string{"reglock_domains", "reglock_sweep_last_finished_timestamp_seconds", "reglock_sweep_paused", "asynq_tasks_enqueued_total",
		"reglock_registrar_circuit_open", "reglock_sweep_state", "reglock_owed_work", "reglock_relock_overdue_seconds",
		"reglock_oldest_reading_age_seconds", "reglock_freshness_cover_seconds", "reglock_freshness_period_seconds"} {
		if _, ok := known[name]; !ok {
			t.Fatalf("a scrape shows no %s: the fixture in exportedMetrics no longer fits the collectors", name)
		}
	}

	// The values of the registrar and task outcome labels, from the
	// functions that set them.
	for _, err := range []error{nil, context.Canceled, providers.ErrNotFound, providers.ErrAuth, providers.ErrNotPermitted,
		providers.ErrNotLockable, providers.RetryAfter(time.Second, errors.New("busy")),
		providers.Permanent(errors.New("refused")), errors.New("timeout")} {
		add("reglock_registrar_calls_total", "result", Result(err))
		add("reglock_tasks_processed_total", "outcome", TaskOutcome(err))
	}
	add("reglock_tasks_processed_total", "outcome", TaskOutcome(asynq.SkipRetry))
	// Every kind of sweep, from the function that names them.
	for _, trigger := range []string{"schedule", "freshness", "api:ops", "cli"} {
		for _, name := range []string{"reglock_sweep_started_timestamp_seconds", "reglock_sweep_duration_seconds", "reglock_sweep_state", "reglock_sweep_domains_read"} {
			add(name, "kind", sweep.KindOf(trigger))
		}
	}
	// Prometheus's own series of each target.
	known["up"] = exported{labels: map[string]map[string]bool{}}
	// Labels Prometheus itself adds to every scraped series.
	for name := range known {
		add(name, "job", "")
		add(name, "instance", "")
	}
	return m, known
}

// enumerated are the labels whose values a scrape of the fixture shows
// in full (fixed sets the collectors always export), by metric.
var enumerated = map[string]string{
	"reglock_domains":                      "state",
	"reglock_sweep_state":                  "state",
	"reglock_owed_work":                    "kind",
	"reglock_owed_work_oldest_age_seconds": "kind",
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// selector is one vector selector in a PromQL expression.
type selector struct {
	name     string
	matchers []matcher
}

type matcher struct{ label, op, value string }

func (m matcher) String() string { return fmt.Sprintf("%s%s%q", m.label, m.op, m.value) }

// PromQL words that are not metric names.
var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "offset": true, "bool": true, "atan2": true, "inf": true, "nan": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
}

// PromQL functions (a misspelled one is not a metric either).
var promFunctions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`abs absent absent_over_time avg_over_time ceil changes clamp clamp_max clamp_min
		count_over_time day_of_month day_of_week day_of_year days_in_month delta deriv exp floor histogram_quantile
		holt_winters hour idelta increase irate label_join label_replace last_over_time ln log10 log2
		mad_over_time max_over_time min_over_time minute month predict_linear present_over_time
		quantile_over_time rate resets round scalar sgn sort sort_desc sqrt stddev_over_time stdvar_over_time
		sum_over_time time timestamp vector year`) {
		promFunctions[f] = true
	}
}

// Grouping keywords take a parenthesised list of label names.
var promGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

type token struct {
	kind byte // 'i' identifier, 's' string, 'n' number or duration, 'p' punctuation or operator
	text string
}

// selectors finds the vector selectors of a PromQL expression: enough
// PromQL for alert rules (no @ modifiers, no selectors without a name).
func selectors(expr string) ([]selector, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	var out []selector
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		next := func(k int) token {
			if i+k < len(toks) {
				return toks[i+k]
			}
			return token{}
		}
		switch {
		case tk.kind == 'p' && tk.text == "{":
			return nil, fmt.Errorf("a selector without a metric name at token %d", i)
		case tk.kind != 'i':
		case promGrouping[tk.text] && next(1).text == "(":
			for i < len(toks) && toks[i].text != ")" {
				i++
			}
		case promKeywords[tk.text]:
			// an operator or an aggregation
		case next(1).text == "(":
			if !promFunctions[tk.text] {
				return nil, fmt.Errorf("%s is not a PromQL function", tk.text)
			}
		default:
			s := selector{name: tk.text}
			if next(1).text == "{" {
				i += 2
				for i < len(toks) && toks[i].text != "}" {
					if toks[i].text == "," {
						i++
						continue
					}
					if i+2 >= len(toks) || toks[i].kind != 'i' || toks[i+1].kind != 'p' || toks[i+2].kind != 's' {
						return nil, fmt.Errorf("%s: cannot read the label matchers", s.name)
					}
					s.matchers = append(s.matchers, matcher{toks[i].text, toks[i+1].text, toks[i+2].text})
					i += 3
				}
				if i >= len(toks) {
					return nil, fmt.Errorf("%s: unterminated {", s.name)
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func lex(expr string) ([]token, error) {
	var toks []token
	rs := []rune(expr)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '#':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case r == '"' || r == '\'' || r == '`':
			j := i + 1
			var b strings.Builder
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' && r != '`' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, errors.New("unterminated string")
			}
			toks = append(toks, token{'s', b.String()})
			i = j + 1
		case r == '[':
			// A range or subquery: durations only.
			for i < len(rs) && rs[i] != ']' {
				i++
			}
			i++
		case unicode.IsLetter(r) || r == '_' || r == ':':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_' || rs[j] == ':') {
				j++
			}
			toks = append(toks, token{'i', string(rs[i:j])})
			i = j
		case unicode.IsDigit(r) || r == '.':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '.') {
				j++
			}
			toks = append(toks, token{'n', string(rs[i:j])})
			i = j
		default:
			two := ""
			if i+1 < len(rs) {
				two = string(rs[i : i+2])
			}
			switch two {
			case "=~", "!~", "!=", "==", ">=", "<=":
				toks = append(toks, token{'p', two})
				i += 2
			default:
				toks = append(toks, token{'p', string(r)})
				i++
			}
		}
	}
	return toks, nil
}

func TestSelectors(t *testing.T) {
	got, err := selectors(`sum by (provider) (rate(a_total{result=~"x|y", op!="z"}[5m] offset 1h)) / on (provider) group_left () max(b) > 0.5 and time() - c < 6 * 3600`)
	if err != nil {
		t.Fatal(err)
	}
	want := []selector{
		{"a_total", []matcher{{"result", "=~", "x|y"}, {"op", "!=", "z"}}},
		{"b", nil},
		{"c", nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := selectors(`{__name__="x"}`); err == nil {
		t.Fatal("a nameless selector: want an error")
	}
}
