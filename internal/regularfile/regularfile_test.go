package regularfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A FIFO, a device (also behind a link), a socket and a folder are refused
// at once, unread, saying what they are.
func TestOpenRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	for path, what := range map[string]string{fifo: "a named pipe (FIFO)", "/dev/zero": "a device", link: "a device", dir: "a folder"} {
		_, err := ReadFile(path, MiB)
		var refused *Error
		if !errors.As(err, &refused) || refused.TooLarge {
			t.Fatalf("%s: %v, want a *Error", path, err)
		}
		if want := path + ": the file is " + what + "; allowed: a regular file of at most 1 MiB"; !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q, want %q", path, err, want)
		}
	}
}

// A file is read up to its limit; one byte more is refused, whether its
// size says so or not.
func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result.json")
	if err := os.WriteFile(path, []byte("12345678"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(path, 8); err != nil || string(b) != "12345678" {
		t.Fatalf("at its limit: %q, %v", b, err)
	}
	_, err := ReadFile(path, 7)
	var refused *Error
	if !errors.As(err, &refused) || !refused.TooLarge || err.Error() != path+": the file is larger than 7 bytes, the most allowed" {
		t.Fatalf("above its limit: %v", err)
	}
	// A file of /proc says it has no size.
	f, err := OpenLimited("/proc/self/maps", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, err := io.ReadAll(f); !errors.As(err, &refused) || len(b) != 16 {
		t.Fatalf("a file that grows past its limit: %d bytes, %v", len(b), err)
	}
}

func TestReadFileOfNoFileIsNotExist(t *testing.T) {
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none"), MiB); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v, want fs.ErrNotExist", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{GiB: "1 GiB", 64 * MiB: "64 MiB", 3 * KiB: "3 KiB", 1500: "1500 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
