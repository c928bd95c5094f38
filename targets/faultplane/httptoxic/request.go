package httptoxic

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"
)

const readBuf = 32 << 10

// runRequest is the request half's parser: it reads each request, decides
// what to do with it and tells the response half, in order.
func (t *Toxic) runRequest(st *connState) {
	p := st.pump
	select {
	case <-st.resolved:
	case <-time.After(pairWait):
		t.slotRef().abandon(st)
		<-st.resolved
	case <-p.stop:
		return
	}
	pr := st.pair
	if pr != nil {
		defer pr.endRequests()
	}
	br := bufio.NewReaderSize(p, readBuf)
	body := make([]byte, readBuf)
	for {
		if _, err := br.Peek(1); err != nil {
			_ = p.forward(len(p.raw))
			return
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			// Not HTTP/1.x: the rest goes through as it is, answers too.
			if pr != nil {
				pr.endRequests()
			}
			_ = p.passThrough()
			return
		}
		t.requests.Add(1)
		tunnel := req.Method == http.MethodConnect || req.Header.Get("Upgrade") != "" || req.Method == "PRI"
		if pr == nil {
			// A connection open before the fault: the server closes it
			// after this answer, and the client reconnects through it.
			t.migr.Add(1)
			if err := t.forwardHead(p, br, "Connection: close\r\n"); err != nil {
				return
			}
		} else {
			d := decision{method: req.Method, close: req.Close}
			r := t.Rule()
			act := false
			if r.Matches(req) {
				n := t.ordinal.Add(1) - 1
				t.matched.Add(1)
				act = r.Acts(n) && !tunnel
			}
			if act && r.Action == ActionAbort {
				if t.abort(p, br, pr, req, r, body) {
					if d.close || req.Header.Get("Expect") != "" {
						_ = p.swallow()
						return
					}
					continue
				}
				act = false
			}
			if act && r.Action == ActionDelay {
				t.delayed.Add(1)
				select {
				case <-time.After(time.Duration(r.Latency) * time.Millisecond):
				case <-p.stop:
					return
				}
			}
			if act && r.Action == ActionDrop {
				d.action = ActionDrop
			}
			if !pr.push(d) {
				d.action = ""
			} else if d.action == ActionDrop {
				t.dropped.Add(1)
			}
			if tunnel {
				pr.endRequests()
			}
			if err := t.forwardHead(p, br, ""); err != nil {
				return
			}
		}
		if tunnel {
			_ = p.passThrough()
			return
		}
		if err := streamBody(p, br, req.Body, body, true); err != nil {
			return
		}
	}
}

// forwardHead writes on the request head just read, with extra header
// lines inserted before its end.
func (t *Toxic) forwardHead(p *pump, br *bufio.Reader, extra string) error {
	n := consumed(p, br.Buffered())
	if extra == "" {
		return p.forward(n)
	}
	head := p.raw[:n]
	end := bytes.LastIndex(head, []byte("\r\n\r\n"))
	sep := "\r\n"
	if end < 0 {
		end = bytes.LastIndex(head, []byte("\n\n"))
		sep = "\n"
	}
	if end < 0 {
		return p.forward(n)
	}
	if err := p.forward(end + len(sep)); err != nil {
		return err
	}
	if sep == "\n" {
		extra = strings.ReplaceAll(extra, "\r\n", "\n")
	}
	if err := p.send(outItem{data: []byte(extra)}); err != nil {
		return err
	}
	return p.forward(n - end - len(sep))
}

// abort swallows req (head and body) and has the response half answer it
// with r.Status; false when the response half is gone (the request is then
// to be forwarded; nothing was swallowed).
func (t *Toxic) abort(p *pump, br *bufio.Reader, pr *pair, req *http.Request, r Rule, buf []byte) bool {
	d := decision{action: ActionAbort, status: r.Status, method: req.Method, close: req.Close}
	expect := req.Header.Get("Expect") != ""
	if expect {
		// The client waits for a 100 Continue before its body: answer
		// now, and close the connection after the answer.
		d.close = true
	}
	if !pr.push(d) {
		return false
	}
	// The answer is queued: from here the request must not reach the
	// upstream, so a removal closes the connection.
	p.dirty = true
	t.aborted.Add(1)
	p.discard(consumed(p, br.Buffered()))
	if !expect {
		if err := streamBody(p, br, req.Body, buf, false); err != nil {
			return true
		}
	}
	p.dirty = false
	return true
}

// streamBody reads body to its end, writing its bytes on as they come
// (keep) or dropping them.
func streamBody(p *pump, br *bufio.Reader, body io.ReadCloser, buf []byte, keep bool) error {
	if body == nil || body == http.NoBody {
		return nil
	}
	for {
		_, err := body.Read(buf)
		n := consumed(p, br.Buffered())
		if keep {
			if ferr := p.forward(n); ferr != nil {
				return ferr
			}
		} else {
			p.discard(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if keep {
				_ = p.passThrough()
			}
			return err
		}
	}
}
