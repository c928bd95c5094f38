package workload

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
)

// refuseRedirects is NewHTTPClient's redirect policy: a redirect is an answer
// like any other, returned as it came.
func refuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// sender sends a driver's requests. For a client that adds nothing to its
// transport — no cookie jar, no client-wide timeout, redirects returned as
// they are (NewHTTPClient's) — it calls the transport directly: the same
// request on the wire and the same answer, without http.Client's per-request
// copy of the headers and redirect bookkeeping, which were a tenth of the
// generator's allocations. Other clients are used through Do.
type sender struct {
	client    *http.Client
	transport http.RoundTripper // nil: use client.Do
}

func newSender(c *http.Client) sender {
	s := sender{client: c}
	if c.Jar == nil && c.Timeout == 0 && c.CheckRedirect != nil && c.Transport != nil &&
		reflect.ValueOf(c.CheckRedirect).Pointer() == reflect.ValueOf(refuseRedirects).Pointer() {
		s.transport = c.Transport
	}
	return s
}

// do sends req. Its errors read as http.Client.Do's: a *url.Error naming the
// method and the URL.
func (s sender) do(req *http.Request) (*http.Response, error) {
	if s.transport == nil {
		return s.client.Do(req)
	}
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: req.Method[:1] + strings.ToLower(req.Method[1:]), URL: stripPassword(req.URL), Err: err}
	}
	return resp, nil
}

// stripPassword writes u as http.Client's errors do: a password as "***".
func stripPassword(u *url.URL) string {
	if _, set := u.User.Password(); set {
		return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
	}
	return u.String()
}
