package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// The lock service and the fenced resource, on CompareAndSet (see cas.go).
//
// A lock is one record in the store (api.LockKey): its owner, its fencing
// token and its lease's end. Acquire, renew and release are compare-and-sets
// on it, so a lock survives node crashes as every linearizable key does. The
// fencing token of an acquisition is the version time of the record it
// writes: version times of one key only grow (every ABD write takes the
// highest a read quorum has seen, plus one), so each acquisition of a name
// has a larger token than every earlier one, whoever coordinated it.
//
// Leases are judged on the coordinator's clock (with its injected skew): a
// lease ends at a wall time written in the record. The demo's members share
// one clock; a clock-skew fault on a node makes it judge leases early or late,
// which is why a holder must not trust its lease for safety and the resource
// checks tokens.

// casRetries bounds the compare-and-sets one request makes when another
// request changed the record between the read and the write.
const casRetries = 5

// MaxLease bounds a lock's lease.
const MaxLease = time.Hour

// lockRecord is a lock's stored value.
type lockRecord struct {
	Owner   string `json:"owner,omitempty"`
	Token   int64  `json:"token"`
	Expires int64  `json:"expires,omitempty"` // Unix ns; 0 when released
}

// refusal aborts a compare-and-set with an answer for the client.
type refusal struct {
	code   int
	reason string
}

func (r *refusal) Error() string { return r.reason }

// now is the node's wall clock, with its injected skew.
func (n *Node) now() time.Time { return time.Now().Add(n.clock.Offset()) }

func (n *Node) serveLock(w http.ResponseWriter, r *http.Request) {
	name, _ := api.LockNameFromPath(r.URL.Path)
	if err := api.ValidateKey(name); err != nil {
		api.Error(w, http.StatusBadRequest, "lock name: "+err.Error())
		return
	}
	arrived := n.suspects.now()
	ctx, cancel, expired := api.IncomingContext(r, n.cfg.Timeout)
	defer cancel()
	if expired {
		api.Error(w, http.StatusGatewayTimeout, "deadline passed before the request was worked on")
		return
	}
	ctx, cancelWork := withAnswerMargin(ctx)
	defer cancelWork()
	rid := r.Header.Get(api.HeaderRequestID)
	key := api.LockKey(name)
	if r.Method == http.MethodGet {
		rec, found, err := n.Read(ctx, key, rid)
		if err != nil {
			n.writeError(w, "get", err, arrived)
			return
		}
		st := api.LockState{Name: name}
		if found && !rec.Tombstone {
			var lr lockRecord
			if err := json.Unmarshal(rec.Value, &lr); err == nil {
				st.Owner, st.Token, st.Expires = lr.Owner, lr.Token, lr.Expires
			}
			if st.Expires != 0 && n.now().UnixNano() >= st.Expires {
				st.Owner = "" // lapsed
			}
		}
		writeJSON(w, st)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed; use POST ?op=acquire|renew|release, or GET")
		return
	}
	q := r.URL.Query()
	op, owner := q.Get("op"), q.Get("owner")
	if owner == "" || len(owner) > api.MaxKeyLen {
		api.Error(w, http.StatusBadRequest, "owner is required (1 to 256 bytes)")
		return
	}
	var lease time.Duration
	if op == api.LockAcquire || op == api.LockRenew {
		d, err := time.ParseDuration(q.Get("lease"))
		if err != nil || d <= 0 || d > MaxLease {
			api.Error(w, http.StatusBadRequest, fmt.Sprintf("lease %q: a duration above 0 and at most %s is required", q.Get("lease"), MaxLease))
			return
		}
		lease = d
	}
	var token int64
	if op == api.LockRenew || op == api.LockRelease {
		t, err := strconv.ParseInt(q.Get("token"), 10, 64)
		if err != nil || t < 1 {
			api.Error(w, http.StatusBadRequest, fmt.Sprintf("token %q: a positive integer is required", q.Get("token")))
			return
		}
		token = t
	}
	var st lockRecord
	update := func(cur storage.Record, found bool) ([]byte, error) {
		var lr lockRecord
		if found {
			if err := json.Unmarshal(cur.Value, &lr); err != nil {
				return nil, &refusal{http.StatusInternalServerError, "lock record unreadable: " + err.Error()}
			}
		}
		now := n.now().UnixNano()
		live := lr.Owner != "" && now < lr.Expires
		switch op {
		case api.LockAcquire:
			if live && lr.Owner != owner {
				return nil, &refusal{http.StatusConflict, fmt.Sprintf("held by %s (token %d) for %s more", lr.Owner, lr.Token, time.Duration(lr.Expires-now).Round(time.Millisecond))}
			}
			// A new acquisition, also by the same owner: a new token.
			lr = lockRecord{Owner: owner, Token: cur.Version.Time + 1, Expires: now + int64(lease)}
		case api.LockRenew, api.LockRelease:
			if !live || lr.Owner != owner || lr.Token != token {
				return nil, &refusal{http.StatusConflict, fmt.Sprintf("not held by %s with token %d (holder %q, token %d, live %t)", owner, token, lr.Owner, lr.Token, live)}
			}
			if op == api.LockRenew {
				lr.Expires = now + int64(lease)
			} else {
				lr.Owner, lr.Expires = "", 0
			}
		default:
			return nil, &refusal{http.StatusBadRequest, fmt.Sprintf("op %q unknown; allowed: acquire, renew, release", op)}
		}
		st = lr
		return json.Marshal(lr)
	}
	if _, err := n.casRetrying(ctx, key, update, rid); err != nil {
		n.writeCASError(w, "lock", err, arrived)
		return
	}
	writeJSON(w, api.LockState{Name: name, Owner: st.Owner, Token: st.Token, Expires: st.Expires})
}

// casRetrying runs CompareAndSet until it does not conflict, at most casRetries times.
func (n *Node) casRetrying(ctx context.Context, key string, update CASUpdate, rid string) (storage.Version, error) {
	var (
		v   storage.Version
		err error
	)
	for range casRetries {
		v, err = n.CompareAndSet(ctx, key, update, rid)
		if !errors.Is(err, ErrConflict) || ctx.Err() != nil {
			return v, err
		}
	}
	return v, err
}

// writeCASError answers a failed compare-and-set: the refusal's own answer,
// 503 for conflicts that outlasted the retries (nothing was written), 501
// outside the linearizable mode, else as writeError does.
func (n *Node) writeCASError(w http.ResponseWriter, op string, err error, arrived time.Time) {
	var rf *refusal
	switch {
	case errors.As(err, &rf):
		api.Error(w, rf.code, rf.reason)
	case errors.Is(err, ErrConflict):
		api.Error(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, ErrNotLinearizable):
		api.Error(w, http.StatusNotImplemented, err.Error())
	default:
		n.writeError(w, op, err, arrived)
	}
}

// fencedWrite stores value under key if token is not older than the newest
// token the key has seen, as one compare-and-set on the record {newest token,
// value}. An older token is refused with 409 Conflict: the request is well
// formed and its precondition is not an HTTP one (412 is for If-Match and its
// kin), it conflicts with the resource's state, and retrying it cannot help.
// An equal token is accepted: one holder writes many times.
func (n *Node) fencedWrite(ctx context.Context, key string, token int64, value []byte, rid string) (storage.Version, error) {
	return n.casRetrying(ctx, key, func(cur storage.Record, found bool) ([]byte, error) {
		if found {
			if newest, _, ok := api.DecodeFenced(cur.Value); ok && token < newest {
				return nil, &refusal{http.StatusConflict, fmt.Sprintf("stale fencing token %d: the resource has seen %d", token, newest)}
			}
		}
		return api.EncodeFenced(token, value), nil
	}, rid)
}
