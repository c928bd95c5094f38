package annotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// APIPath is the annotations endpoint below the URL the user gives.
const APIPath = "/api/annotations"

// Timeouts of a posting.
const (
	// DefaultTimeout bounds one request.
	DefaultTimeout = 5 * time.Second
	// Budget bounds every request of one run's posting together.
	Budget = 15 * time.Second
)

// Annotation is one annotation as the Grafana HTTP API takes it. Times are
// milliseconds since the epoch; TimeEnd after Time makes it a region.
type Annotation struct {
	Time    int64    `json:"time"`
	TimeEnd int64    `json:"timeEnd,omitempty"`
	Tags    []string `json:"tags"`
	Text    string   `json:"text"`
}

// Faults returns one annotation per fault of res that was applied, in the
// result's order: from its apply to its revert, or to the run's end when it
// was not reverted. runID is the run's id (a tag).
func Faults(res *report.Result, runID string) []Annotation {
	var out []Annotation
	for _, f := range res.Faults {
		if f.Applied == nil {
			continue
		}
		end, note := res.Ended, " — not reverted when the run ended: it may still be in place (chaosctl recover)"
		if f.Reverted != nil {
			end, note = *f.Reverted, ""
		} else if !f.StillApplied {
			note = " — active until the run ended"
		}
		tags := []string{"chaosctl", "kind:" + f.Kind, "fault:" + f.Name}
		for _, t := range f.Targets {
			tags = append(tags, "target:"+t)
		}
		tags = append(tags, "experiment:"+res.Experiment, "run:"+runID)
		targets := strings.Join(f.Targets, ", ")
		if targets == "" {
			targets = strings.Join(f.Links, ", ")
		}
		text := fmt.Sprintf("chaosctl fault %s (%s) on %s, experiment %s, run %s%s", f.Name, f.Kind, targets, res.Experiment, runID, note)
		a := Annotation{Time: f.Applied.UnixMilli(), Tags: tags, Text: text}
		if !end.IsZero() && end.UnixMilli() > a.Time {
			a.TimeEnd = end.UnixMilli()
		}
		out = append(out, a)
	}
	return out
}

// Client posts annotations to one annotations API.
type Client struct {
	// URL is the server's base URL (http://grafana:3000); APIPath is
	// appended unless the URL's path already ends with it.
	URL string
	// Token, when not empty, is sent as a bearer token.
	Token string
	// Timeout bounds one request (0: DefaultTimeout).
	Timeout time.Duration
	// HTTP is the client to use (nil: a client of its own).
	HTTP *http.Client
}

// CheckURL checks a URL given for a Client: http or https with a host.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: allowed is an http:// or https:// URL with a host, such as http://localhost:3000 (Grafana's; %s is appended)", raw, APIPath)
	}
	if u.User != nil {
		return fmt.Errorf("%q holds credentials; give the token in $CHAOSCTL_ANNOTATE_TOKEN instead", u.Redacted())
	}
	return nil
}

// endpoint is the URL the annotations are posted to.
func (c *Client) endpoint() string {
	u := strings.TrimRight(c.URL, "/")
	if strings.HasSuffix(u, APIPath) {
		return u
	}
	return u + APIPath
}

// Post posts one annotation; any answer but 2xx is an error that quotes the
// answer's start.
func (c *Client) Post(ctx context.Context, a Annotation) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("post annotation: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post annotation: %s answered %d: %s", c.endpoint(), resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// PostAll posts each annotation in turn within Budget, going on past
// failures; it returns how many were posted and the failures joined.
func (c *Client) PostAll(ctx context.Context, as []Annotation) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, Budget)
	defer cancel()
	posted := 0
	var errs []error
	for i, a := range as {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("%d annotations not posted: the %s budget is spent", len(as)-i, Budget))
			break
		}
		if err := c.Post(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		posted++
	}
	return posted, errors.Join(errs...)
}
