package experiments

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secretExperiment = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: secrets, description: "token ${secret:CHAOSCTL_T_DESC}"}
target:
  external:
    members:
      - name: web
        command: [sh, -c, "serve --token ${secret:CHAOSCTL_T_TOKEN}"]
        env: {API_KEY: "${secret:CHAOSCTL_T_TOKEN}", DEBUG: "1", PLAIN: plain-env-value}
        ports: [18080]
    proxies:
      - {name: web, listen: "127.0.0.1:28080", upstream: "127.0.0.1:18080"}
workload:
  rate: 10
  duration: 10s
  http:
    - url: "http://127.0.0.1:28080/?k=${secret:CHAOSCTL_T_URL}"
      headers:
        Authorization: "Bearer ${secret:CHAOSCTL_T_TOKEN}"
        X-Api-Key: literal-api-key
        Accept: text/plain
      body: "$${secret:NOT_A_REF}"
slos: [{name: up, sli: availability, objective: 99%}]
`

const externalHead = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target:
  external:`

const externalTail = `workload: {rate: 1, duration: 5s, http: [{url: "http://127.0.0.1:28080/"}]}
slos: [{name: up, sli: availability, objective: 99%}]
`

func setSecrets(t *testing.T) {
	t.Setenv("CHAOSCTL_T_TOKEN", "tok-3f9a1c77")
	t.Setenv("CHAOSCTL_T_URL", "url-secret-99")
	t.Setenv("CHAOSCTL_T_DESC", "desc-secret-42")
}

func TestSecretSubstitution(t *testing.T) {
	setSecrets(t)
	e, err := Decode("s.yaml", []byte(secretExperiment))
	if err != nil {
		t.Fatal(err)
	}
	m := e.Target.External.Members[0]
	h := e.Workload.HTTP[0]
	for _, c := range []struct{ name, got, want string }{
		{"description", e.Metadata.Description, "token desc-secret-42"},
		{"command", m.Command[2], "serve --token tok-3f9a1c77"},
		{"env", m.Env["API_KEY"], "tok-3f9a1c77"},
		{"url", h.URL, "http://127.0.0.1:28080/?k=url-secret-99"},
		{"header", h.Headers["Authorization"], "Bearer tok-3f9a1c77"},
		{"escape", h.Body, "${secret:NOT_A_REF}"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	// The class name defaults to METHOD URL: it holds the secret too, and
	// is redacted like everything else.
	r := e.Redactor()
	for _, v := range []string{"tok-3f9a1c77", "url-secret-99", "desc-secret-42", "Bearer tok-3f9a1c77", "literal-api-key", "plain-env-value"} {
		if got := r.String("x " + v + " y"); got != "x "+Redacted+" y" {
			t.Errorf("Redactor left %q: %q", v, got)
		}
	}
	for _, v := range []string{"text/plain", "1", "${secret:NOT_A_REF}"} {
		if got := r.String(v); got != v {
			t.Errorf("Redactor changed %q to %q", v, got)
		}
	}
}

func TestSecretProblems(t *testing.T) {
	t.Setenv("CHAOSCTL_T_SET", "set-value-1234")
	os.Unsetenv("CHAOSCTL_T_UNSET")
	src := externalHead + `
    members:
      - {name: web, command: [x], env: {A: "${secret:CHAOSCTL_T_UNSET}", B: "${secret:}", C: "${secret:9x}", D: "a ${secret:CHAOSCTL_T_SET"}}
    proxies: [{name: web, listen: "127.0.0.1:28080", upstream: "127.0.0.1:18080"}]
` + externalTail
	_, err := Decode("bad.yaml", []byte(src))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	checkProblems(t, verr, "bad.yaml", []string{
		`7:45: target.external.members[0].env.A: secret CHAOSCTL_T_UNSET: environment variable CHAOSCTL_T_UNSET is not set`,
		`7:78: target.external.members[0].env.B: bad secret reference "${secret:}"`,
		`7:95: target.external.members[0].env.C: bad secret reference "${secret:9x}"`,
		`7:116: target.external.members[0].env.D: unclosed secret reference "${secret:CHAOSCTL_T_SET"`,
	})
}

// A problem that quotes a value never shows a secret: validate's output is
// redacted too.
func TestSecretProblemsAreRedacted(t *testing.T) {
	t.Setenv("CHAOSCTL_T_METHOD", "SECRETMETHOD")
	src := externalHead + `
    proxies: [{name: web, listen: "127.0.0.1:28080", upstream: "127.0.0.1:18080"}]
workload: {rate: 1, duration: 5s, http: [{url: "http://127.0.0.1:28080/", method: "${secret:CHAOSCTL_T_METHOD}"}]}
slos: [{name: up, sli: availability, objective: 99%}]
`
	_, err := Decode("m.yaml", []byte(src))
	if err == nil {
		t.Fatal("a bad method validated")
	}
	if strings.Contains(err.Error(), "SECRETMETHOD") || !strings.Contains(err.Error(), Redacted) {
		t.Errorf("problem shows the secret or no redaction:\n%v", err)
	}
}

func TestRedactSource(t *testing.T) {
	setSecrets(t)
	e, err := Decode("s.yaml", []byte(secretExperiment))
	if err != nil {
		t.Fatal(err)
	}
	got := string(e.RedactSource([]byte(secretExperiment)))
	for _, leak := range []string{"literal-api-key", "plain-env-value"} {
		if strings.Contains(got, leak) {
			t.Errorf("redacted source holds %q:\n%s", leak, got)
		}
	}
	if !strings.Contains(got, "${secret:CHAOSCTL_T_TOKEN}") || !strings.Contains(got, "# ") && !strings.Contains(got, "apiVersion: chaosctl/v1") {
		t.Errorf("references or layout lost:\n%s", got)
	}
	// Byte replacement keeps the file as written.
	if want := strings.ReplaceAll(strings.ReplaceAll(secretExperiment, "literal-api-key", Redacted), "plain-env-value", Redacted); got != want {
		t.Errorf("redacted source:\n%s\nwant:\n%s", got, want)
	}

	// A value written with escapes or folded over lines escapes byte
	// replacement: the file is written anew from its parsed form.
	escaped := strings.Replace(secretExperiment, "X-Api-Key: literal-api-key", `X-Api-Key: "literal\x2dapi-key"`, 1)
	escaped = strings.Replace(escaped, "PLAIN: plain-env-value", "PLAIN: \"plain-env-\\\n          value\"", 1)
	e, err = Decode("s.yaml", []byte(escaped))
	if err != nil {
		t.Fatal(err)
	}
	got = string(e.RedactSource([]byte(escaped)))
	for _, leak := range []string{"literal-api-key", `literal\x2dapi-key`, "plain-env-value"} {
		if strings.Contains(got, leak) {
			t.Errorf("redacted source holds %q:\n%s", leak, got)
		}
	}
	if _, err := Decode("s.yaml", []byte(strings.ReplaceAll(got, Redacted, "x"))); err != nil {
		t.Errorf("rewritten source no longer decodes: %v\n%s", err, got)
	}
}

func TestRedactor(t *testing.T) {
	secret := `s3cr"et<&>'\` + "\n" + `é`
	r := NewRedactor([]string{secret, "abc", "", "short-but-ok", "short-but-ok-longer"})
	// The value as each output encodes it.
	jsonB, _ := json.Marshal(map[string]string{"v": secret, "w": "short-but-ok-longer and short-but-ok"})
	out := string(r.Bytes(jsonB))
	if strings.Contains(out, "s3cr") || strings.Contains(out, "short-but-ok") {
		t.Errorf("JSON not redacted: %s", out)
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("redacted JSON does not decode: %v: %s", err, out)
	}
	if back["w"] != Redacted+" and "+Redacted {
		t.Errorf("longest value first: got %q", back["w"])
	}
	// Values under MinRedactLen are left alone.
	if got := r.String("abc 1 2 3"); got != "abc 1 2 3" {
		t.Errorf("short value replaced: %q", got)
	}
	for _, form := range []string{`s3cr\"et<&>'\\\né`, `s3cr&#34;et&lt;&amp;&gt;&#39;\` + "\n" + `é`} {
		if got := r.String("[" + form + "]"); got != "["+Redacted+"]" {
			t.Errorf("form %q: got %q", form, got)
		}
	}
	var buf bytes.Buffer
	w := r.Writer(&buf)
	if n, err := w.Write([]byte("a short-but-ok b\n")); err != nil || n != 17 {
		t.Errorf("Write = %d, %v", n, err)
	}
	if buf.String() != "a "+Redacted+" b\n" {
		t.Errorf("writer wrote %q", buf.String())
	}
	var empty *Redactor
	if !empty.Empty() || empty.String("x") != "x" || empty.Writer(&buf) != &buf {
		t.Error("a nil redactor changes things")
	}
}

// A GameDay's inline experiments go through the same decoder: their
// secrets are substituted, and missing ones are problems of the playbook.
func TestGameDaySecrets(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CHAOSCTL_T_GD", "gameday-secret-1")
	os.Unsetenv("CHAOSCTL_T_GD_UNSET")
	src := `apiVersion: chaosctl/v1
kind: GameDay
metadata: {name: gd}
target:
  demo: {nodes: 3}
steps:
  - name: one
    experiment:
      inline:
        workload: {rate: 10, duration: 5s}
        steadyState: {probes: [{name: up, http: {url: "http://127.0.0.1:1/${secret:CHAOSCTL_T_GD}"}}]}
  - name: two
    experiment:
      inline:
        workload: {rate: 10, duration: 5s}
        steadyState: {probes: [{name: up, http: {url: "http://127.0.0.1:1/${secret:CHAOSCTL_T_GD_UNSET}"}}]}
`
	path := filepath.Join(dir, "gd.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadGameDay(path)
	if err == nil || !strings.Contains(err.Error(), "secret CHAOSCTL_T_GD_UNSET: environment variable CHAOSCTL_T_GD_UNSET is not set") {
		t.Fatalf("got %v, want the unset secret", err)
	}
	if !strings.Contains(err.Error(), "gd.yaml:16:") {
		t.Errorf("problem not at the scalar's line: %v", err)
	}
}

// The --dry-run text shows commands and URLs: redacted.
func TestPlanFormatRedacts(t *testing.T) {
	setSecrets(t)
	e, err := Decode("s.yaml", []byte(secretExperiment))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Format(&b); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"tok-3f9a1c77", "url-secret-99", "desc-secret-42"} {
		if strings.Contains(b.String(), leak) {
			t.Errorf("plan shows %q:\n%s", leak, b.String())
		}
	}
	if !strings.Contains(b.String(), "serve --token "+Redacted) {
		t.Errorf("plan does not show the redacted command:\n%s", b.String())
	}
}

func TestGameDayRedactor(t *testing.T) {
	t.Setenv("CHAOSCTL_T_GD", "gameday-secret-1")
	t.Setenv("CHAOSCTL_T_GD_DESC", "gameday-desc-secret")
	src := `apiVersion: chaosctl/v1
kind: GameDay
metadata: {name: gd, description: "${secret:CHAOSCTL_T_GD_DESC}"}
target:
  demo: {nodes: 3}
steps:
  - name: one
    experiment:
      inline:
        workload: {rate: 10, duration: 5s}
        steadyState: {probes: [{name: up, http: {url: "http://127.0.0.1:1/${secret:CHAOSCTL_T_GD}"}}]}
`
	gd, err := DecodeGameDay(filepath.Join(t.TempDir(), "gd.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	step := gd.Steps[0].Resolved
	if got := step.SteadyState.Probes[0].HTTP.URL; got != "http://127.0.0.1:1/gameday-secret-1" {
		t.Errorf("step probe URL = %q", got)
	}
	if got := gd.Redactor().String("gameday-secret-1 gameday-desc-secret"); got != Redacted+" "+Redacted {
		t.Errorf("GameDay redactor: %q", got)
	}
	if got := step.Redactor().String("gameday-secret-1"); got != Redacted {
		t.Errorf("step redactor: %q", got)
	}
	if strings.Contains(string(step.RedactSource(gd.Steps[0].Source)), "gameday-secret-1") {
		t.Errorf("step source holds the secret:\n%s", gd.Steps[0].Source)
	}
}
