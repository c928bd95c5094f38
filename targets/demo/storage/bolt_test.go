package storage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestBoltReopenKeepsDataAndHints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	e, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, e, "a", rec("a", ver(3), "alpha"), true)
	mustPut(t, e, "d", tombstone("d", ver(4)), true)
	if err := e.PutHint("n4", "h", rec("h", ver(5), "hinted")); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e, err = OpenBolt(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer e.Close()
	wantRecord(t, e, "a", rec("a", ver(3), "alpha"))
	wantRecord(t, e, "d", tombstone("d", ver(4)))
	hints, err := e.Hints("n4", 0)
	if err != nil || len(hints) != 1 || string(hints[0].Record.Value) != "hinted" {
		t.Fatalf("hints after reopen = %+v, %v", hints, err)
	}
	if n, _ := e.Len(); n != 2 {
		t.Fatalf("Len after reopen = %d, want 2", n)
	}
}

// TestBoltUndecodableRecordIsCorrupt: bytes that are not a record at all (a torn
// or foreign value) read as corrupt and are replaced by the next good write.
func TestBoltUndecodableRecordIsCorrupt(t *testing.T) {
	e, err := OpenBolt(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	db := e.(*boltEngine).db
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(dataBucket).Put([]byte("k"), []byte{9, 9, 9}) })
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := e.Get("k"); !found || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get(undecodable) = found %v, err %v; want ErrCorrupt", found, err)
	}
	if recs, _, err := e.Range("", "", 0); err != nil || len(recs) != 1 || recs[0].Key != "k" || recs[0].Record.Verify("k") {
		t.Fatalf("Range over an undecodable record = %+v, %v; want it listed as a copy that fails its checksum", recs, err)
	}
	if _, err := e.Corrupt(5, nil); err == nil {
		t.Fatal("Corrupt with a nil rng succeeded")
	}
	mustPut(t, e, "k", rec("k", Version{}, "repaired"), true)
	wantRecord(t, e, "k", rec("k", Version{}, "repaired"))
}

const helperDBEnv = "CHAOSCTL_STORAGE_HELPER_DB"

func durabilityKey(i int) string { return fmt.Sprintf("durable-%07d", i) }

func durabilityRecord(i int) Record {
	key := durabilityKey(i)
	value := strings.Repeat(fmt.Sprintf("value-%d;", i), 1+i%7)
	return Seal(key, Record{Version: Version{Time: int64(i + 1), Node: 1, Seq: uint32(i)}, Value: []byte(value)})
}

// TestHelperWriter is not a test: TestBoltSurvivesSIGKILL runs this test binary
// again with helperDBEnv set, and this function is then the child that writes
// records and acknowledges each one on stdout after Put returned.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(helperDBEnv)
	if path == "" {
		t.Skip("helper process for TestBoltSurvivesSIGKILL")
	}
	e, err := OpenBolt(path)
	if err != nil {
		fmt.Fprintf(os.Stdout, "error %v\n", err)
		return
	}
	const writers = 4
	// Bounded, in case the parent dies without killing the child.
	deadline := time.Now().Add(time.Minute)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < 1_000_000 && time.Now().Before(deadline); i += writers {
				if _, err := e.Put(durabilityKey(i), durabilityRecord(i)); err != nil {
					mu.Lock()
					fmt.Fprintf(os.Stdout, "error %v\n", err)
					mu.Unlock()
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d\n", i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestBoltSurvivesSIGKILL kills a writing process at a random moment and checks
// that every write it acknowledged is on disk.
func TestBoltSurvivesSIGKILL(t *testing.T) {
	const wantAcks = 300
	path := filepath.Join(t.TempDir(), "store.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDBEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start writer: %v", err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	lines := make(chan string)
	stopReading := make(chan struct{})
	t.Cleanup(func() { close(stopReading) })
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stopReading:
				return
			}
		}
	}()
	acked := map[int]bool{}
	record := func(line string) {
		n, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			t.Fatalf("writer: %s (stderr: %s)", line, stderr.String())
		}
		i, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("writer printed %q", line)
		}
		acked[i] = true
	}
	timeout := time.After(2 * time.Minute)
	for len(acked) < wantAcks {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("writer exited after %d acknowledgements (stderr: %s)", len(acked), stderr.String())
			}
			record(line)
		case <-timeout:
			t.Fatalf("only %d acknowledgements within 2m", len(acked))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill writer: %v", err)
	}
	killed = true
	// Acknowledgements already in the pipe were made before the kill: check them too.
	for line := range lines {
		record(line)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer did not die of SIGKILL: %v (stderr: %s)", err, stderr.String())
	}

	e, err := OpenBolt(path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer e.Close()
	for i := range acked {
		key := durabilityKey(i)
		want := durabilityRecord(i)
		got, found, err := e.Get(key)
		if err != nil || !found {
			t.Fatalf("acknowledged %s lost after SIGKILL: found %v, err %v", key, found, err)
		}
		if got.Version != want.Version || !bytes.Equal(got.Value, want.Value) {
			t.Fatalf("acknowledged %s reads back as %+v, want %+v", key, got, want)
		}
	}
	n, err := e.Len()
	if err != nil {
		t.Fatal(err)
	}
	if n < len(acked) {
		t.Fatalf("Len = %d after %d acknowledged writes", n, len(acked))
	}
	t.Logf("%d writes acknowledged before SIGKILL, all present; %d records on disk (the rest were committed but not yet acknowledged)", len(acked), n)
}
