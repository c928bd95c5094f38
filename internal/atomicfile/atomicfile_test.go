package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// plantLinks plants, under every name a writer of path might use for its
// temporary file, a symbolic link to a 0644 victim file, and returns the
// victim's path and content.
func plantLinks(t *testing.T, path string) (victim string, content []byte) {
	t.Helper()
	victim = filepath.Join(t.TempDir(), "victim")
	content = []byte("the victim's own content\n")
	if err := os.WriteFile(victim, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	return victim, content
}

// expectUntouched fails when the victim or the planted link changed.
func expectUntouched(t *testing.T, path, victim string, content []byte) {
	t.Helper()
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(content) {
		t.Fatalf("the victim behind the planted link was overwritten: %q", b)
	}
	if fi, err := os.Stat(victim); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the victim's mode changed: %v %v", fi.Mode(), err)
	}
	if to, err := os.Readlink(path + ".tmp"); err != nil || to != victim {
		t.Fatalf("the planted link was replaced: %q %v", to, err)
	}
}

func TestWriteDoesNotFollowAPlantedLink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	victim, content := plantLinks(t, path)
	if err := Write(path, []byte("token"), 0o600); err != nil {
		t.Fatal(err)
	}
	expectUntouched(t, path, victim, content)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: mode %v, want a regular file 0600", path, fi.Mode())
	}
	if b, _ := os.ReadFile(path); string(b) != "token" {
		t.Fatalf("%s holds %q", path, b)
	}
}

func TestWriteGivesTheModeAndReplacesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	for _, content := range []string{"first", "second"} {
		if err := Write(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("%s holds %q, want %q", path, b, content)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v %v, want 0644", fi.Mode(), err)
	}
	onlyFile(t, path)
}

// A failed write leaves the file as it was, and no temporary file.
func TestWriteWithFailureLeavesTheFileAsItWas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := Write(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("engine went away")
	err := WriteWith(path, 0o644, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want it to wrap %v", err, boom)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("%s holds %q after a failed write", path, b)
	}
	onlyFile(t, path)
}

// onlyFile fails when path's folder holds anything but path.
func onlyFile(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("the folder holds %v, want only %s", names, filepath.Base(path))
	}
}
