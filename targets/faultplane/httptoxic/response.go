package httptoxic

import (
	"bufio"
	"fmt"
	"net/http"
)

// runResponse is the response half's parser: it carries out the request
// half's decisions in order, one response each.
func (t *Toxic) runResponse(st *connState) {
	p := st.pump
	pr := st.pair
	if pr == nil {
		_ = p.passThrough()
		return
	}
	fault := t.Rule().Fault
	br := bufio.NewReaderSize(p, readBuf)
	body := make([]byte, readBuf)
	for {
		d, ok, reqGone := pr.pop()
		if !ok {
			if br.Buffered() == 0 {
				if reqGone {
					_ = p.passThrough()
					return
				}
				ready, err := p.waitInputOr(pr.notify)
				if err != nil {
					return
				}
				if !ready {
					continue
				}
			}
			// Data from the upstream: its decision was queued before the
			// request went out, unless the upstream speaks unasked (a 408
			// before closing an idle connection).
			if d, ok, _ = pr.pop(); !ok {
				d = decision{method: http.MethodGet}
			}
		}
		if d.action == ActionAbort {
			p.dirty = true
			if err := p.send(outItem{data: abortResponse(d, fault), close: d.close}); err != nil {
				return
			}
			p.dirty = false
			if d.close {
				return
			}
			continue
		}
		if _, err := br.Peek(1); err != nil {
			_ = p.forward(len(p.raw))
			return
		}
		if d.action == ActionDrop {
			p.dirty = true
		}
		resp, err := readFinalResponse(p, br, d)
		if err != nil {
			_ = p.passThrough()
			return
		}
		if d.action == ActionDrop {
			// The head goes to the client, then the connection closes: the
			// client sees the response cut short (or, for a response with
			// no body, no response at all).
			n := consumed(p, br.Buffered())
			if resp.ContentLength == 0 {
				n = 0
			}
			data := append([]byte(nil), p.raw[:n]...)
			_ = p.send(outItem{data: data, close: true})
			return
		}
		if err := p.forward(consumed(p, br.Buffered())); err != nil {
			return
		}
		if resp.StatusCode == http.StatusSwitchingProtocols || (d.method == http.MethodConnect && resp.StatusCode/100 == 2) {
			_ = p.passThrough()
			return
		}
		if err := streamBody(p, br, resp.Body, body, true); err != nil {
			return
		}
	}
}

// readFinalResponse reads one response's head, writing on any 1xx
// informational response before it.
func readFinalResponse(p *pump, br *bufio.Reader, d decision) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: d.method})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if err := p.forward(consumed(p, br.Buffered())); err != nil {
			return nil, err
		}
	}
}

// abortResponse is the answer to an aborted request.
func abortResponse(d decision, fault string) []byte {
	body := fmt.Sprintf("chaosctl: fault %s answered %d instead of the upstream\n", fault, d.status)
	text := http.StatusText(d.status)
	if text == "" {
		text = "Status"
	}
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nX-Chaosctl-Fault: %s\r\n", d.status, text, len(body), fault)
	if d.close {
		head += "Connection: close\r\n"
	}
	head += "\r\n"
	if d.method == http.MethodHead {
		return []byte(head)
	}
	return []byte(head + body)
}
