package clusterctl

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/process"
)

// MemberStatus is a member in GET /v1/status: Addr is where clients reach it
// (through the fault plane), Listen where it listens itself.
type MemberStatus struct {
	process.MemberInfo
	Listen string `json:"listen"`
}

// State is "running", "paused" or "stopped".
func (m MemberStatus) State() string {
	switch {
	case !m.Running:
		return "stopped"
	case m.Paused:
		return "paused"
	}
	return "running"
}

// StatusView is GET /v1/status.
type StatusView struct {
	Name    string         `json:"name"`
	Members []MemberStatus `json:"members"`
	Faults  []FaultView    `json:"faults"`
	Ended   []FaultView    `json:"ended"`
}

// errorBody is the JSON of every control API error.
type errorBody struct {
	Error string `json:"error"`
}

// Server is the control API of a running cluster over its fault manager.
// Every route needs the header "Authorization: Bearer TOKEN".
type Server struct {
	Name    string                // the cluster's name
	Token   string                // the bearer token
	Faults  *Manager              // applies and reverts the faults
	Members func() []MemberStatus // the members, for GET /v1/status
	Log     *logrus.Entry
}

// Handler returns the control API's routes behind the token check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		fl := s.Faults.List()
		writeJSON(w, http.StatusOK, StatusView{Name: s.Name, Members: s.Members(), Faults: fl.Faults, Ended: fl.Ended})
	})
	mux.HandleFunc("GET /v1/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults.List())
	})
	mux.HandleFunc("POST /v1/faults", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, badRequest(fmt.Errorf("decode the fault: %w", err)))
			return
		}
		// The fault must not be half applied because the caller went away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), faultOpTimeout)
		defer cancel()
		v, err := s.Faults.Apply(ctx, req)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, v)
	})
	mux.HandleFunc("POST /v1/faults/{name}/lease", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Faults.Renew(r.PathValue("name"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("DELETE /v1/faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), faultOpTimeout)
		defer cancel()
		v, err := s.Faults.Heal(ctx, r.PathValue("name"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, FaultsView{Faults: []FaultView{v}})
	})
	mux.HandleFunc("DELETE /v1/faults", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), faultOpTimeout)
		defer cancel()
		vs, err := s.Faults.HealAll(ctx)
		if err != nil {
			writeError(w, fmt.Errorf("healed %d; some faults may remain applied: %w", len(vs), err))
			return
		}
		writeJSON(w, http.StatusOK, FaultsView{Faults: append([]FaultView{}, vs...)})
	})
	return s.authorized(mux)
}

func (s *Server) authorized(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, &statusError{status: http.StatusUnauthorized, err: errors.New("missing or wrong bearer token (it is in the cluster's state file)")})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var se *statusError
	if errors.As(err, &se) {
		status = se.status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
}

// Serve serves the control API on a free 127.0.0.1 port until closeFn is
// called.
func (s *Server) Serve() (addr string, closeFn func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("control API: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.WithError(err).Warn("control API stopped")
		}
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
