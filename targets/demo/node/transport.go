package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Transport carries a node's replica calls to its peers: the seam between the
// coordinator's logic and the network. The node answers calls to itself
// directly; every other replica is reached through its Transport. The HTTP
// transport is the one the demo runs; tests put a fake network here that
// drops, delays and reorders calls (see fakenet_test.go).
//
// A Transport delivers a call to the peer's ReplicaRead, ReplicaWrite or
// ReplicaSnapshot with the caller's deadline, as an absolute time: a call
// delayed on the way must arrive with what is left of its budget.
type Transport interface {
	// Read asks peer for its copy of key; with meta, the version and checksum
	// only. A failed call comes back as a reply with Err set.
	Read(ctx context.Context, peer, key string, meta bool, rid string) Reply
	// Write stores rec on peer (held as a hint for hintFor when it is set).
	Write(ctx context.Context, peer, key string, rec storage.Record, hintFor, rid string) error
	// Snapshot fetches every intact record peer holds of the keys that forNode
	// replicates (a recovering node's catch-up).
	Snapshot(ctx context.Context, peer, forNode string) ([]KeyRecord, error)
}

// Reply is one replica's answer to a read.
type Reply struct {
	Peer    string
	Rec     storage.Record
	Found   bool
	Corrupt bool // the replica's copy failed its checksum
	// Clock is the replica's hybrid logical clock when it answered (zero when
	// unknown), so reads carry time as writes do.
	Clock hlc.Timestamp
	Err   error
}

// KeyRecord is one record of a snapshot or a range listing.
type KeyRecord = storage.KeyRecord

// ErrRecovering is returned by a replica that lost its state (a restart with
// in-memory storage) and has not yet caught up from its peers: its copies must
// not count toward a read or version-query quorum.
var ErrRecovering = errors.New("replica is recovering its state from its peers")

// Replica API paths and headers of the HTTP transport.
const (
	replicaPrefix   = "/internal/v1/replica/"
	snapshotPath    = "/internal/v1/snapshot"
	headerTombstone = "X-Tombstone"
	headerChecksum  = "X-Checksum"
	headerCorrupt   = "X-Corrupt"
	headerHintFor   = "X-Hint-For"
	headerApplied   = "X-Applied"
	headerClock     = "X-Clock"
	headerRecover   = "X-Recovering"
)

// httpTransport is the replica API over HTTP (see the package doc).
type httpTransport struct {
	peers  map[string]string // node id -> host:port
	auth   string            // "Bearer " + the peer token; "" sends none
	client *http.Client
	count  func(peer, code string) // chaosdemo_replica_requests_total
}

func newHTTPTransport(peers map[string]string, token string, count func(peer, code string)) *httpTransport {
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return &httpTransport{
		peers: peers,
		auth:  auth,
		count: count,
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}},
	}
}

func (t *httpTransport) closeIdle() { t.client.CloseIdleConnections() }

// prepare adds what every replica call carries: the caller's deadline and
// request id, and the peer token.
func (t *httpTransport) prepare(ctx context.Context, req *http.Request, rid string) {
	api.SetOutgoing(ctx, req, rid)
	if t.auth != "" {
		req.Header.Set("Authorization", t.auth)
	}
}

func (t *httpTransport) Read(ctx context.Context, peer, key string, meta bool, rid string) Reply {
	u := "http://" + t.peers[peer] + replicaPrefix + key
	if meta {
		u += "?meta=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Reply{Peer: peer, Err: err}
	}
	t.prepare(ctx, req, rid)
	resp, err := t.client.Do(req)
	if err != nil {
		t.count(peer, errorClass(err))
		return Reply{Peer: peer, Err: fmt.Errorf("read %s from %s: %w", key, peer, err)}
	}
	defer resp.Body.Close()
	t.count(peer, strconv.Itoa(resp.StatusCode))
	clock, _ := hlc.Parse(resp.Header.Get(headerClock))
	switch resp.StatusCode {
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, resp.Body)
		return Reply{Peer: peer, Clock: clock}
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		if resp.Header.Get(headerRecover) != "" {
			return Reply{Peer: peer, Clock: clock, Err: fmt.Errorf("read %s from %s: %w", key, peer, ErrRecovering)}
		}
		return Reply{Peer: peer, Err: fmt.Errorf("read %s from %s: status %d", key, peer, resp.StatusCode)}
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return Reply{Peer: peer, Err: fmt.Errorf("read %s from %s: status %d", key, peer, resp.StatusCode)}
	}
	v, err := storage.ParseVersion(resp.Header.Get(api.HeaderVersion))
	if err != nil {
		return Reply{Peer: peer, Err: fmt.Errorf("read %s from %s: %w", key, peer, err)}
	}
	sum, _ := strconv.ParseUint(resp.Header.Get(headerChecksum), 10, 32)
	rep := Reply{Peer: peer, Found: true, Clock: clock, Rec: storage.Record{
		Version:   v,
		Tombstone: resp.Header.Get(headerTombstone) == "1",
		Checksum:  uint32(sum),
	}}
	if resp.Header.Get(headerCorrupt) == "1" {
		rep.Corrupt = true
		_, _ = io.Copy(io.Discard, resp.Body)
		return rep
	}
	if !meta {
		body, err := io.ReadAll(io.LimitReader(resp.Body, api.MaxValueLen+1))
		if err != nil {
			return Reply{Peer: peer, Err: fmt.Errorf("read %s from %s: %w", key, peer, err)}
		}
		if len(body) > 0 {
			rep.Rec.Value = body
		}
		if !rep.Rec.Verify(key) {
			// Damaged in transit: treat like a corrupt copy, never serve it.
			rep.Corrupt = true
		}
	}
	return rep
}

func (t *httpTransport) Write(ctx context.Context, peer, key string, rec storage.Record, hintFor, rid string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+t.peers[peer]+replicaPrefix+key, strings.NewReader(string(rec.Value)))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(rec.Value))
	h := req.Header
	h.Set(api.HeaderVersion, rec.Version.String())
	h.Set(headerChecksum, strconv.FormatUint(uint64(rec.Checksum), 10))
	if rec.Tombstone {
		h.Set(headerTombstone, "1")
	}
	if hintFor != "" {
		h.Set(headerHintFor, hintFor)
	}
	if atMost, ok := conditionFrom(ctx); ok {
		h.Set(headerIfAtMost, atMost.String())
	}
	t.prepare(ctx, req, rid)
	resp, err := t.client.Do(req)
	if err != nil {
		t.count(peer, errorClass(err))
		return fmt.Errorf("write %s to %s: %w", key, peer, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	t.count(peer, strconv.Itoa(resp.StatusCode))
	if resp.StatusCode == http.StatusPreconditionFailed {
		return fmt.Errorf("write %s to %s: %w", key, peer, ErrConditionFailed)
	}
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("write %s to %s: status %d %s", key, peer, resp.StatusCode, resp.Header.Get(api.HeaderError))
	}
	return nil
}

// snapshotLine is one record of a snapshot on the wire (JSON lines).
type snapshotLine struct {
	Key       string `json:"k"`
	Version   string `json:"v"`
	Tombstone bool   `json:"t,omitempty"`
	Checksum  uint32 `json:"c"`
	Value     []byte `json:"d,omitempty"`
}

// snapshotEnd closes a complete snapshot, so a cut-off stream is not taken
// for a short one.
const snapshotEnd = "end"

func (t *httpTransport) Snapshot(ctx context.Context, peer, forNode string) ([]KeyRecord, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.peers[peer]+snapshotPath+"?for="+url.QueryEscape(forNode), nil)
	if err != nil {
		return nil, err
	}
	t.prepare(ctx, req, "")
	resp, err := t.client.Do(req)
	if err != nil {
		t.count(peer, errorClass(err))
		return nil, fmt.Errorf("snapshot from %s: %w", peer, err)
	}
	defer resp.Body.Close()
	t.count(peer, strconv.Itoa(resp.StatusCode))
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("snapshot from %s: status %d %s", peer, resp.StatusCode, resp.Header.Get(api.HeaderError))
	}
	return decodeSnapshot(resp.Body, peer)
}

func decodeSnapshot(r io.Reader, peer string) ([]KeyRecord, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4*api.MaxValueLen)
	var out []KeyRecord
	for sc.Scan() {
		var l snapshotLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("snapshot from %s: record %d: %w", peer, len(out)+1, err)
		}
		if l.Key == snapshotEnd && l.Version == "" {
			return out, nil
		}
		v, err := storage.ParseVersion(l.Version)
		if err != nil {
			return nil, fmt.Errorf("snapshot from %s: key %q: %w", peer, l.Key, err)
		}
		rec := storage.Record{Version: v, Tombstone: l.Tombstone, Checksum: l.Checksum}
		if len(l.Value) > 0 {
			rec.Value = l.Value
		}
		if !rec.Verify(l.Key) {
			return nil, fmt.Errorf("snapshot from %s: key %q fails its checksum in transit", peer, l.Key)
		}
		out = append(out, KeyRecord{Key: l.Key, Record: rec})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("snapshot from %s: %w", peer, err)
	}
	return nil, fmt.Errorf("snapshot from %s ended before its last record (%d read)", peer, len(out))
}

// errorClass names a transport error for metrics.
func errorClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "error"
}
