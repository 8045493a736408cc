package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Grafana dashboard (deploy/grafana/reglock.json) may only query
// metrics, labels and label values reglock exports, as the alert rules
// (alerts_test.go); its queries must be PromQL promtool accepts, and it
// must show what the on-call person looks at.

const dashboardFile = "../deploy/grafana/reglock.json"

type grafanaPanel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type grafanaDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

// dashboardQuery is one PromQL query of the dashboard.
type dashboardQuery struct {
	where, expr, legend string
}

func readDashboard(t *testing.T) (grafanaDashboard, []dashboardQuery) {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var qs []dashboardQuery
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				qs = append(qs, dashboardQuery{where: fmt.Sprintf("panel %d %q, query %s", p.ID, p.Title, tg.RefID), expr: tg.Expr, legend: tg.LegendFormat})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return d, qs
}

// grafanaVar is a dashboard variable in a query: $name, ${name} or
// ${name:format}.
var grafanaVar = regexp.MustCompile(`\$\{?(__[a-z_]+|[A-Za-z_][A-Za-z0-9_]*)(:[a-z]+)?\}?`)

// promQL replaces the dashboard's variables in a query with what makes it
// plain PromQL: an interval for Grafana's intervals, a match-all regexp
// for the template variables (they are only used in =~ matchers).
func promQL(q string) string {
	return grafanaVar.ReplaceAllStringFunc(q, func(v string) string {
		name := grafanaVar.FindStringSubmatch(v)[1]
		switch name {
		case "__rate_interval", "__interval", "__range":
			return "5m"
		}
		return ".*"
	})
}

var legendLabel = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
var grouping = regexp.MustCompile(`\b(?:by|on)\s*\(([^)]*)\)`)

func TestDashboard_usesWhatReglockExports(t *testing.T) {
	d, qs := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: want a uid and a title", dashboardFile)
	}
	m, known := exportedMetrics(t)
	used := map[string]bool{}
	for _, q := range qs {
		where := filepath.Base(dashboardFile) + ": " + q.where
		if strings.TrimSpace(q.expr) == "" {
			t.Errorf("%s: no expression", where)
			continue
		}
		sels, err := selectors(promQL(q.expr))
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: uses no metric", where)
		}
		// The legend may only name labels the query's result has: those
		// it groups by, or, without grouping, its series' labels.
		var groupBy []string
		for _, g := range grouping.FindAllStringSubmatch(q.expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				groupBy = append(groupBy, strings.TrimSpace(l))
			}
		}
		for _, s := range sels {
			used[s.name] = true
			checkSelector(t, where, m, known, s)
		}
		for _, l := range legendLabel.FindAllStringSubmatch(q.legend, -1) {
			ok := slices.Contains(groupBy, l[1])
			if len(groupBy) == 0 {
				for _, s := range sels {
					_, has := known[s.name].labels[l[1]]
					ok = ok || has
				}
			}
			if !ok {
				t.Errorf("%s: the legend %q names %s, which the query's result does not have", where, q.legend, l[1])
			}
		}
	}
	// Template variables: label_values(selector, label).
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			if err := json.Unmarshal(v.Query, &q.Query); err != nil {
				t.Errorf("%s: variable %s: cannot read its query: %v", dashboardFile, v.Name, err)
				continue
			}
		}
		where := fmt.Sprintf("%s: variable %s", filepath.Base(dashboardFile), v.Name)
		lv := labelValues.FindStringSubmatch(q.Query)
		if lv == nil {
			t.Errorf("%s: query %q: want label_values(metric, label)", where, q.Query)
			continue
		}
		sels, err := selectors(promQL(lv[1]))
		if err != nil || len(sels) != 1 {
			t.Errorf("%s: %q: want one series selector (%v)", where, lv[1], err)
			continue
		}
		checkSelector(t, where, m, known, sels[0])
		checkSelector(t, where, m, known, selector{name: sels[0].name, matchers: []matcher{{lv[2], "!=", ""}}})
	}
	// What the on-call person looks at, per account and overall.
	for _, name := range []string{
		"reglock_domains", "reglock_oldest_reading_age_seconds", "reglock_sweep_last_finished_timestamp_seconds", "reglock_sweep_paused",
		"reglock_registrar_circuit_open", "reglock_freshness_cover_seconds", "reglock_sweep_state", "reglock_sweep_duration_seconds",
		"reglock_sweep_domains_read", "reglock_tasks_processed_total", "reglock_owed_work", "reglock_owed_work_oldest_age_seconds",
		"reglock_relocks_overdue", "reglock_registrar_calls_total", "reglock_registrar_call_duration_seconds_bucket",
		"reglock_rate_limit_wait_seconds_bucket", "reglock_rate_limit_deferred_total", "asynq_tasks_enqueued_total",
		"asynq_queue_latency_seconds", "asynq_queue_paused_total", "reglock_api_requests_total",
		"reglock_api_request_duration_seconds_bucket", "reglock_drift_found_total", "reglock_drift_fixed_total",
		"reglock_sweep_registrar_calls_total", "reglock_store_lost",
	} {
		if !used[name] {
			t.Errorf("%s: no panel shows %s", dashboardFile, name)
		}
	}
}

// The dashboard's layout: unique panel ids, panels on the 24-column grid,
// every panel on the data source variable with at least one query.
func TestDashboard_layout(t *testing.T) {
	d, _ := readDashboard(t)
	ids := map[int]bool{}
	hasDS := false
	for _, v := range d.Templating.List {
		hasDS = hasDS || v.Type == "datasource" && v.Name == "datasource"
	}
	if !hasDS {
		t.Errorf("%s: want a data source variable named datasource", dashboardFile)
	}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			where := fmt.Sprintf("%s: panel %d %q", dashboardFile, p.ID, p.Title)
			if p.ID <= 0 || ids[p.ID] {
				t.Errorf("%s: id missing or used twice", where)
			}
			ids[p.ID] = true
			if p.Title == "" {
				t.Errorf("%s: no title", where)
			}
			if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
				t.Errorf("%s: gridPos %+v is off the 24-column grid", where, g)
			}
			if p.Type != "row" {
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
					t.Errorf("%s: want datasource uid ${datasource}", where)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					if tg.RefID == "" || refs[tg.RefID] {
						t.Errorf("%s: a query without a refId, or one used twice", where)
					}
					refs[tg.RefID] = true
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: no query", where)
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
}

// promtool parses every query of the dashboard (as a recording rule's
// expression, its variables replaced).
func TestDashboard_promtoolParsesEveryQuery(t *testing.T) {
	_, qs := readDashboard(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, q := range qs {
		expr, _ := json.Marshal(promQL(q.expr)) // a JSON string is a YAML scalar
		fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %s\n", i, expr)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "check", "rules", "dashboard.yaml")
}
