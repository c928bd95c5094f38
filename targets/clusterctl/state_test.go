package clusterctl

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClaimNameTakesTheNextFreeName(t *testing.T) {
	dir := t.TempDir()
	first, err := ClaimName(dir, DefaultName, false)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	second, err := ClaimName(dir, DefaultName, false)
	if err != nil {
		t.Fatal(err)
	}
	if first.Name != "default" || second.Name != "default-2" || second.StatePath != filepath.Join(dir, "cluster", "default-2.json") {
		t.Fatalf("claims %q and %q (%s)", first.Name, second.Name, second.StatePath)
	}
	live, err := LiveClusters(dir)
	if err != nil || !slices.Equal(live, []string{"default", "default-2"}) {
		t.Fatalf("LiveClusters = %v, %v", live, err)
	}
	if err := WriteState(first.StatePath, State{Name: "default", Control: "127.0.0.1:1", Token: "t", PID: 42}); err != nil {
		t.Fatal(err)
	}
	_, err = ClaimName(dir, DefaultName, true)
	if !IsInputError(err) || !strings.Contains(err.Error(), `a cluster named "default" is already running in `+dir+` (pid 42, control 127.0.0.1:1): stop it first`) {
		t.Fatalf("explicit claim of a taken name: %v", err)
	}
	second.Release()
	if Live(dir, "default-2") {
		t.Fatal("default-2 is live after its release")
	}
	if _, err := ClaimName(dir, "Bad_Name", true); !IsInputError(err) || !strings.Contains(err.Error(), `--name "Bad_Name": use 1 to 40 lower-case letters`) {
		t.Fatalf("bad name: %v", err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	_, err := Find(FindOptions{StateDir: dir})
	if err == nil || IsInputError(err) || !strings.Contains(err.Error(), "no cluster is running (none registered in "+Dir(dir)+"); start one with `chaosctl cluster up`") {
		t.Fatalf("no cluster: %v", err)
	}
	a, err := ClaimName(dir, "a", true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	_, err = Find(FindOptions{StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), `cluster "a" is still starting`) {
		t.Fatalf("a cluster without its state file: %v", err)
	}
	want := State{Name: "a", Control: "127.0.0.1:1", Token: "t", Started: time.Now().UTC().Truncate(time.Second), Nodes: []StateMember{{ID: "n1"}}}
	if err := WriteState(a.StatePath, want); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(a.StatePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v; want 0600", fi.Mode(), err)
	}
	got, err := Find(FindOptions{StateDir: dir})
	if err != nil || got.Name != "a" || !got.Started.Equal(want.Started) || got.Topology().Nodes[0] != "n1" {
		t.Fatalf("Find = %+v, %v", got, err)
	}
	b, err := ClaimName(dir, "b", true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	_, err = Find(FindOptions{StateDir: dir})
	if !IsInputError(err) || !strings.Contains(err.Error(), "2 clusters are running (a, b): choose one with --cluster NAME") {
		t.Fatalf("two clusters: %v", err)
	}
	if got, err := Find(FindOptions{StateDir: dir, Name: "a"}); err != nil || got.Name != "a" {
		t.Fatalf("--cluster a: %+v, %v", got, err)
	}
	if _, err := Find(FindOptions{StateDir: dir, Name: "c"}); err == nil || IsInputError(err) || !strings.Contains(err.Error(), `no cluster named "c" is running`) {
		t.Fatalf("--cluster c: %v", err)
	}
	if _, err := Find(FindOptions{StateDir: dir, Name: "C!"}); !IsInputError(err) {
		t.Fatalf("--cluster C!: %v", err)
	}
	missing := filepath.Join(dir, "missing.json")
	if _, err := Find(FindOptions{StateFile: missing}); err == nil || !strings.Contains(err.Error(), "no state file "+missing+": no cluster is running with --state") {
		t.Fatalf("--state missing: %v", err)
	}
	if got, err := Find(FindOptions{StateFile: a.StatePath}); err != nil || got.Name != "a" {
		t.Fatalf("--state: %+v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old.json"), []byte(`{"name":"old"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(filepath.Join(dir, "old.json")); err == nil || !strings.Contains(err.Error(), "has no control address or token") {
		t.Fatalf("state file without a token: %v", err)
	}
}

// A symbolic link planted where an older writer put its temporary file
// (`--state FILE` names a folder others may write to) is left alone: the
// state, with its token, goes to FILE only, private, and the link's target
// keeps its content and mode.
func TestWriteStateDoesNotFollowAPlantedLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim.txt")
	if err := os.WriteFile(victim, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.json")
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := WriteState(path, State{Name: "a", Control: "127.0.0.1:1", Token: "s3cret-token"}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me\n" {
		t.Fatalf("the victim behind the planted link holds %q (%v)", b, err)
	}
	if fi, err := os.Stat(victim); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the victim's mode: %v (%v)", fi.Mode(), err)
	}
	if to, err := os.Readlink(path + ".tmp"); err != nil || to != victim {
		t.Fatalf("the planted link: %q (%v)", to, err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the state file: %v (%v), want a regular file with mode 0600", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "s3cret-token") {
		t.Fatalf("the state file holds %q", b)
	}
}
