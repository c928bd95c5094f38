package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTPClass is one request class of an HTTP workload: what is sent, and the
// status that counts as success.
type HTTPClass struct {
	Name    string
	Method  string // default GET
	URL     string
	Headers map[string]string
	Body    string
	// Expect is the status that counts as success; 0 means any 2xx.
	Expect int
}

// HTTPDriver sends each operation as its class's HTTP request (Op.Class
// names the class; the key and kind are not used). It is the workload of
// users' own services: any answer other than the expected status is a bad
// event, classed as 5xx, 429, timeout, transport or unexpected.
type HTTPDriver struct {
	classes map[string]HTTPClass
	only    string // the class used when an op has none (a single class)
	send    sender
}

// NewHTTPDriver returns a driver for classes (at least one), sending through
// client (NewHTTPClient sizes one for a workload).
func NewHTTPDriver(classes []HTTPClass, client *http.Client) (*HTTPDriver, error) {
	if len(classes) == 0 {
		return nil, errors.New("http driver: no request class")
	}
	if client == nil {
		return nil, errors.New("http driver: client is nil")
	}
	d := &HTTPDriver{classes: map[string]HTTPClass{}, send: newSender(client)}
	for i, c := range classes {
		if c.Name == "" {
			return nil, fmt.Errorf("http driver: class %d has no name", i)
		}
		if _, dup := d.classes[c.Name]; dup {
			return nil, fmt.Errorf("http driver: class %q is named twice", c.Name)
		}
		if c.Method == "" {
			c.Method = http.MethodGet
		}
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("http driver: class %s: %q is not an http(s) URL", c.Name, c.URL)
		}
		d.classes[c.Name] = c
	}
	if len(classes) == 1 {
		d.only = classes[0].Name
	}
	return d, nil
}

// Do sends op's class's request. It returns when the answer is in or ctx is
// done.
func (d *HTTPDriver) Do(ctx context.Context, op Op) Result {
	name := op.Class
	if name == "" {
		name = d.only
	}
	c, ok := d.classes[name]
	if !ok {
		return Result{Outcome: OutcomeFail, Class: ClassUnexpected, Err: fmt.Errorf("http driver: unknown request class %q", op.Class)}
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, c.URL, body)
	if err != nil {
		return Result{Outcome: OutcomeFail, Class: ClassUnexpected, Err: fmt.Errorf("build %s request: %w", c.Name, err)}
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set(headerRequestID, "op-"+strconv.FormatUint(op.ID, 10))
	if dl, ok := ctx.Deadline(); ok {
		req.Header.Set(headerRequestTimeout, max(time.Until(dl), time.Microsecond).String())
	}
	// Reads are safe to count as certainly failed; anything else may have
	// had its effect when the answer is lost.
	kind := OpPut
	if c.Method == http.MethodGet || c.Method == http.MethodHead || c.Method == http.MethodOptions {
		kind = OpGet
	}
	resp, err := d.send.do(req)
	if err != nil {
		return transportResult(ctx, kind, fmt.Errorf("%s: %w", c.Name, err))
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxReadBody)); err != nil {
		return transportResult(ctx, kind, fmt.Errorf("%s: read the answer: %w", c.Name, err))
	}
	code := resp.StatusCode
	res := Result{Code: code}
	switch {
	case code == c.Expect || (c.Expect == 0 && code >= 200 && code < 300):
		res.Outcome, res.Found = OutcomeOK, true
		return res
	case code == http.StatusTooManyRequests:
		res.Outcome, res.Class = OutcomeFail, ClassRateLimited
	case code >= 500:
		res.Outcome, res.Class = OutcomeUnknown, ClassServerError
		if kind == OpGet {
			res.Outcome = OutcomeFail
		}
	default:
		res.Outcome, res.Class = OutcomeFail, ClassUnexpected
	}
	want := "2xx"
	if c.Expect != 0 {
		want = strconv.Itoa(c.Expect)
	}
	res.Err = fmt.Errorf("%s: status %d, want %s", c.Name, code, want)
	return res
}
