package metrics_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title      string `json:"title"`
		Type       string `json:"type"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// promQL parts that are not metric names: strings, label matchers, ranges,
// grouping clauses, function calls, numbers.
var (
	strLit    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matchers  = regexp.MustCompile(`\{[^}]*\}`)
	ranges    = regexp.MustCompile(`\[[^\]]*\]`)
	grouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	ident     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	funcCall  = regexp.MustCompile(`[a-zA-Z_][a-zA-Z0-9_]*\s*\(`)
	number    = regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:])[0-9][0-9.]*(?:e[+-]?[0-9]+)?`)
	operators = []string{"and", "or", "unless", "offset", "bool"}
)

// metricNames are the metric names an expression reads.
func metricNames(expr string) []string {
	e := strLit.ReplaceAllString(expr, `""`)
	e = matchers.ReplaceAllString(e, " ")
	e = ranges.ReplaceAllString(e, " ")
	e = grouping.ReplaceAllString(e, " ")
	e = funcCall.ReplaceAllString(e, "(")
	e = number.ReplaceAllString(e, " ")
	var out []string
	for _, id := range ident.FindAllString(e, -1) {
		if !slices.Contains(operators, id) {
			out = append(out, id)
		}
	}
	return out
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (route) (rate(wxauth_http_requests_total{job=~"$job",status=~"5.."}[$__rate_interval]))`: {"wxauth_http_requests_total"},
		`histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m]))) / clamp_min(b_count, 1e-9)`:          {"a_bucket", "b_count"},
		`label_values(wxauth_http_requests_total, job)`:                                                  {"wxauth_http_requests_total", "job"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// Every metric a panel of deploy/grafana/wxauth.json reads is one wxauth
// registers (gathered from a running stack after a login, a refresh and
// an app token fetch, so the names are real), and every wxauth_ metric has
// a panel.
func TestGrafanaDashboardUsesRealMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "wxauth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("deploy/grafana/wxauth.json: %v", err)
	}

	const key = "apptoken-key-0123456789"
	s := servertest.New(t, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "apptok", Scopes: []string{api.ScopeWeChatAccessToken}, Secret: key}}
	}))
	l := s.Login(t, "mp", "alice")
	if r := s.Do(t, "POST", "/v1/token/refresh", api.RefreshRequest{RefreshToken: l.RefreshToken}, ""); r.Status != http.StatusOK {
		t.Fatalf("refresh = %d", r.Status)
	}
	if r := s.Do(t, "GET", "/v1/wechat/access_token?app=mp", nil, key); r.Status != http.StatusOK {
		t.Fatalf("app token = %d", r.Status)
	}
	families, err := s.Inst.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	real := map[string]bool{}
	for _, f := range families {
		n := f.GetName()
		real[n] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			real[n+"_bucket"], real[n+"_sum"], real[n+"_count"] = true, true, true
		}
	}

	used := map[string]bool{}
	check := func(where, expr string) {
		for _, n := range metricNames(expr) {
			if n == "job" { // label_values' label argument
				continue
			}
			if !real[n] {
				t.Errorf("%s: %q reads %q, which wxauth does not register", where, expr, n)
			}
			used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
		}
	}
	exprs := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs++
			check("panel "+p.Title, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			check("variable "+v.Name, q["query"].(string))
		}
	}
	if exprs < 20 {
		t.Errorf("%d panel queries, want the dashboard's 20 or more", exprs)
	}
	for n := range real {
		if strings.HasPrefix(n, "wxauth_") && !strings.HasSuffix(n, "_bucket") && !strings.HasSuffix(n, "_sum") && !strings.HasSuffix(n, "_count") && !used[n] {
			t.Errorf("metric %s has no panel", n)
		}
	}
}
