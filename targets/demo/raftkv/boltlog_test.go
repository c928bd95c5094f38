package raftkv

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

// The bbolt store keeps logs, term and vote across a reopen, deletes ranges,
// and answers an unknown key with the "not found" hashicorp/raft expects.
func TestBoltLogStoreSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := OpenBoltLogStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("unknown key: %v, want \"not found\"", err)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 5; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 2, Type: raft.LogCommand, Data: []byte{byte(i)}})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenBoltLogStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	term, err := s.GetUint64([]byte("CurrentTerm"))
	if first != 3 || last != 5 || term != 7 || err != nil {
		t.Fatalf("after reopen: first %d last %d term %d %v; want 3 5 7", first, last, term, err)
	}
	var l raft.Log
	if err := s.GetLog(4, &l); err != nil || l.Term != 2 || l.Data[0] != 4 {
		t.Fatalf("log 4: %+v %v", l, err)
	}
	if err := s.GetLog(2, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("deleted log 2: %v, want ErrLogNotFound", err)
	}
}
