package httptoxic

import (
	"net/http"
	"strings"
	"testing"
)

func TestRuleMatches(t *testing.T) {
	req := func(method, target string, hdr ...string) *http.Request {
		r, err := http.NewRequest(method, "http://x"+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Add(hdr[i], hdr[i+1])
		}
		return r
	}
	cases := []struct {
		name string
		rule Rule
		req  *http.Request
		want bool
	}{
		{"empty rule matches all", Rule{}, req("PUT", "/kv/a"), true},
		{"method any case", Rule{Method: "get"}, req("GET", "/"), true},
		{"other method", Rule{Method: "GET"}, req("PUT", "/"), false},
		{"path prefix", Rule{PathPrefix: "/kv/"}, req("GET", "/kv/a?x=1"), true},
		{"path prefix ignores the query", Rule{PathPrefix: "/kv/a"}, req("GET", "/kv?x=/kv/a"), false},
		{"other path", Rule{PathPrefix: "/kv/"}, req("GET", "/health"), false},
		{"header", Rule{Headers: map[string]string{"x-tenant": "a"}}, req("GET", "/", "X-Tenant", "a"), true},
		{"header among several values", Rule{Headers: map[string]string{"X-Tenant": "a"}}, req("GET", "/", "X-Tenant", "b", "X-Tenant", "a"), true},
		{"header value differs", Rule{Headers: map[string]string{"X-Tenant": "a"}}, req("GET", "/", "X-Tenant", "A"), false},
		{"header missing", Rule{Headers: map[string]string{"X-Tenant": "a"}}, req("GET", "/"), false},
		{"all conditions", Rule{Method: "PUT", PathPrefix: "/kv/", Headers: map[string]string{"X-Tenant": "a"}}, req("PUT", "/kv/1", "X-Tenant", "a"), true},
		{"one condition fails", Rule{Method: "PUT", PathPrefix: "/kv/", Headers: map[string]string{"X-Tenant": "a"}}, req("GET", "/kv/1", "X-Tenant", "a"), false},
	}
	for _, c := range cases {
		if got := c.rule.Matches(c.req); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRuleValidate(t *testing.T) {
	ok := Rule{Role: RoleRequest, Pair: "p", Action: ActionAbort, Status: 503, Percent: 0.2}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid rule: %v", err)
	}
	bad := []struct {
		mut  func(*Rule)
		want string
	}{
		{func(r *Rule) { r.Role = "both" }, "role"},
		{func(r *Rule) { r.Pair = "" }, "pair"},
		{func(r *Rule) { r.Status = 99 }, "status 99"},
		{func(r *Rule) { r.Action = "teapot" }, "action"},
		{func(r *Rule) { r.Action = ActionDelay }, "latency 0ms"},
		{func(r *Rule) { r.Percent = 1.5 }, "percent 1.5"},
		{func(r *Rule) { r.Percent = 0 }, "percent 0"},
		{func(r *Rule) { r.FirstN = -1 }, "firstN -1"},
		{func(r *Rule) { r.Headers = map[string]string{"a b": "c"} }, "header name"},
	}
	for _, c := range bad {
		r := ok
		c.mut(&r)
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
	first := ok
	first.Percent, first.FirstN = 0, 3
	if err := first.Validate(); err != nil {
		t.Errorf("firstN without percent: %v", err)
	}
}

func TestActsIsAPureFunctionOfSeedAndOrdinal(t *testing.T) {
	r := Rule{Percent: 0.2, Seed: 42}
	acted := 0
	for n := int64(0); n < 10000; n++ {
		if r.Acts(n) != r.Acts(n) {
			t.Fatal("Acts differs between two calls")
		}
		if r.Acts(n) {
			acted++
		}
	}
	// Binomial(10000, 0.2): σ = 40; 5σ either side.
	if acted < 1800 || acted > 2200 {
		t.Errorf("acted on %d of 10000 at 20%%", acted)
	}
	other := Rule{Percent: 0.2, Seed: 43}
	same := 0
	for n := int64(0); n < 1000; n++ {
		if r.Acts(n) == other.Acts(n) {
			same++
		}
	}
	if same == 1000 {
		t.Error("seeds 42 and 43 draw the same decisions")
	}
	f := Rule{FirstN: 3, Percent: 1}
	for n := int64(0); n < 6; n++ {
		if f.Acts(n) != (n < 3) {
			t.Errorf("firstN 3: Acts(%d) = %v", n, f.Acts(n))
		}
	}
}
