package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/targets"
)

// dirty says what a run left in the target that only a restart clears, ""
// when nothing: a member not running or paused (as the runtime sees it),
// a link of the fault plane held disabled, disabled or with a toxic.
func (s *SharedTarget) dirty(ctx context.Context) string {
	t := s.target
	if sr, ok := t.(targets.StatusReporter); ok {
		for _, m := range t.Members() {
			st, err := sr.MemberStatus(ctx, m.ID)
			switch {
			case err != nil:
				return fmt.Sprintf("member %s's state could not be read: %v", m.ID, err)
			case !st.Running:
				return fmt.Sprintf("member %s is not running (%s)", m.ID, st.Detail)
			case st.Paused:
				return fmt.Sprintf("member %s is paused (%s)", m.ID, st.Detail)
			}
		}
	}
	plane := t.Plane()
	proxies, err := plane.Client().Proxies()
	if err != nil {
		return "the fault plane's proxies could not be read: " + err.Error()
	}
	for _, l := range plane.Links() {
		if owners := plane.HeldBy(l); len(owners) > 0 {
			return fmt.Sprintf("link %s is held disabled by %s", l, strings.Join(owners, ", "))
		}
		px := plane.Proxy(l)
		if px == nil {
			continue
		}
		live, ok := proxies[px.Name]
		switch {
		case !ok:
			return fmt.Sprintf("link %s has no proxy", l)
		case !live.Enabled:
			return fmt.Sprintf("link %s is disabled", l)
		case len(live.ActiveToxics) > 0:
			return fmt.Sprintf("link %s still has the toxic %s", l, live.ActiveToxics[0].Name)
		}
	}
	return ""
}

// quietWithin is how long a prepared target's members get to settle after a
// reset: a breaker a run left open closes only after its open time and a
// successful call, which the reset's deletes make.
func quietWithin(e *experiments.Experiment) time.Duration {
	within := resetWithin
	if spec, err := e.Target.Demo.ClusterSpec(); err == nil {
		within = max(within, 2*spec.Resilience.Breaker.OpenFor+time.Second)
	}
	return within
}

// storedValues says which store nodes still hold a value (not a tombstone)
// after every key was deleted: a replica the deletes did not reach, whose
// old value a later read quorum could return. A node that cannot say is
// one too.
func storedValues(ctx context.Context, t targets.Target) []string {
	var out []string
	for _, m := range t.Members() {
		if m.Role != "node" {
			continue
		}
		var st struct {
			Values *int `json:"values"`
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := t.Control(cctx, m.ID, "status", nil, &st)
		cancel()
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("%s's stored values could not be counted: %v", m.ID, err))
		case st.Values == nil:
			out = append(out, fmt.Sprintf("%s does not count its stored values (an older member)", m.ID))
		case *st.Values > 0:
			out = append(out, fmt.Sprintf("%s still holds %d values", m.ID, *st.Values))
		}
	}
	return out
}

// memberState is what keeps the target from looking fresh after a reset:
// a store node holding a value (storedValues), and what every member's
// /metrics shows (metricProblems); a member that does not answer is one.
func (s *SharedTarget) memberState(ctx context.Context) []string {
	out := storedValues(ctx, s.target)
	members := s.target.Members()
	problems := make([][]string, len(members))
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() {
			body, err := getMetrics(ctx, client, m.Addr)
			if err != nil {
				problems[i] = []string{fmt.Sprintf("member %s does not answer /metrics: %v", m.ID, err)}
				return
			}
			problems[i] = metricProblems(m.ID, body)
		})
	}
	wg.Wait()
	for _, p := range problems {
		out = append(out, p...)
	}
	return out
}

func getMetrics(ctx context.Context, client *http.Client, addr string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

// metricProblems reads a demo member's /metrics (the text format) for state
// a fresh member does not have and a key reset does not clear: a breaker
// not closed, hints or write-behind writes pending (they would land after
// the reset), a clock offset.
func metricProblems(member string, exposition []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value, ok := metricLine(line)
		if !ok || value == 0 {
			continue
		}
		switch name {
		case "chaosdemo_breaker_state":
			state := "open"
			if value == 1 {
				state = "half-open"
			}
			out = append(out, fmt.Sprintf("%s's breaker for %s is %s", member, labelValue(labels, "peer"), state))
		case "chaosdemo_hints_pending":
			out = append(out, fmt.Sprintf("%s holds %g hints for unreachable replicas", member, value))
		case "chaosdemo_writebehind_queue_depth":
			out = append(out, fmt.Sprintf("%s has %g write-behind writes queued", member, value))
		case "chaosdemo_clock_offset_seconds":
			out = append(out, fmt.Sprintf("%s's clock is skewed by %gs", member, value))
		}
	}
	return out
}

// metricLine splits `name{labels} value [timestamp]`.
func metricLine(line string) (name, labels string, value float64, ok bool) {
	rest := line
	if i := strings.IndexByte(rest, '{'); i >= 0 {
		j := strings.LastIndexByte(rest, '}')
		if j < i {
			return "", "", 0, false
		}
		name, labels, rest = rest[:i], rest[i+1:j], rest[j+1:]
	} else {
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			return "", "", 0, false
		}
		name, rest = rest[:i], rest[i:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", "", 0, false
	}
	return name, labels, v, true
}

// labelValue is label key's value in `a="x",b="y"`.
func labelValue(labels, key string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && k == key {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return v
		}
	}
	return "?"
}
