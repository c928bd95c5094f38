package member

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// maxReachTimeout bounds one reach probe.
const maxReachTimeout = 10 * time.Second

// serveHealthz answers 200 while the process is up. With ?pad=N (at most
// api.MaxPad) it adds N bytes to the answer, so a reach probe can measure a
// link's throughput.
func serveHealthz(w http.ResponseWriter, r *http.Request) {
	pad := 0
	if s := r.URL.Query().Get("pad"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > api.MaxPad {
			api.Error(w, http.StatusBadRequest, fmt.Sprintf("pad: give a byte count from 0 to %d", api.MaxPad))
			return
		}
		pad = n
	}
	w.Header().Set("Content-Length", strconv.Itoa(3+pad))
	_, _ = w.Write([]byte("ok\n"))
	if pad > 0 {
		buf := make([]byte, min(pad, 32<<10))
		for pad > 0 {
			n, err := w.Write(buf[:min(pad, len(buf))])
			if err != nil {
				return
			}
			pad -= n
		}
	}
}

// reach serves POST /control/v1/reach.
func (c *controls) reach(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12))
	dec.DisallowUnknownFields()
	var req api.ReachRequest
	if err := dec.Decode(&req); err != nil {
		api.Error(w, http.StatusBadRequest, `reach: body must be {"to":"MEMBER","timeout":"DURATION","pad":BYTES}: `+err.Error())
		return
	}
	addr, ok := c.peers[req.To]
	if !ok {
		api.Error(w, http.StatusNotFound, fmt.Sprintf("reach: %s has no link to %q", c.id, req.To))
		return
	}
	timeout, err := time.ParseDuration(req.Timeout)
	if err != nil || timeout <= 0 || timeout > maxReachTimeout {
		api.Error(w, http.StatusBadRequest, fmt.Sprintf("reach: timeout %q: give a duration above 0 and at most %s", req.Timeout, maxReachTimeout))
		return
	}
	if req.Pad < 0 || req.Pad > api.MaxPad {
		api.Error(w, http.StatusBadRequest, fmt.Sprintf("reach: pad: give a byte count from 0 to %d", api.MaxPad))
		return
	}
	writeJSON(w, api.Reach(r.Context(), addr, req, timeout))
}
