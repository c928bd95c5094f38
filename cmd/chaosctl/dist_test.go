package main

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// distVersion is the version the Makefile tests link in; distEpoch is their
// SOURCE_DATE_EPOCH and distDate the date it stands for.
const (
	distVersion = "v0.0.0-dist-test"
	distEpoch   = "1700000000"
	distDate    = "2023-11-14T22:13:20Z"
)

// makeIn runs make with args in the repository's root and returns its output.
func makeIn(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		testkit.Integration(t, "make is not installed (Debian package make): %v", err)
	}
	cmd := exec.Command("make", append([]string{"-C", "../..", "--no-print-directory"}, args...)...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+distEpoch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// wantVersionLine is the line a binary built by the Makefile at this
// checkout prints for `version` and `--version`.
func wantVersionLine(t *testing.T) string {
	t.Helper()
	commit := "unknown"
	if out, err := exec.Command("git", "-C", "../..", "rev-parse", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	return "chaosctl " + distVersion + " (commit " + commit + ", built " + distDate + ", " +
		runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}

// `make install` builds the release binary and installs it under
// DESTDIR/PREFIX/bin; `make dist` builds the release binaries, named
// chaosctl-VERSION-OS-ARCH, with a SHA256SUMS file. Both embed the version,
// the commit and the date, which `chaosctl version` and `chaosctl --version`
// print, and strip the symbol table and debug information. Only this
// machine's platform is built (the other three are the same command with
// another GOOS/GOARCH, checked in the dry run).
func TestMakeInstallAndDistEmbedTheVersion(t *testing.T) {
	dir := t.TempDir()
	platform := runtime.GOOS + "/" + runtime.GOARCH

	// The dry run: every platform, static, trimmed, with the version.
	plan := makeIn(t, "-n", "dist", "VERSION="+distVersion, "DIST="+filepath.Join(dir, "plan"))
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.version=" + distVersion,
		"-X main.commit=", "-X main.date=" + distDate, "SHA256SUMS",
		"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"} {
		if !strings.Contains(plan, want) {
			t.Errorf("make -n dist lacks %q:\n%s", want, plan)
		}
	}

	destdir := filepath.Join(dir, "root")
	makeIn(t, "install", "VERSION="+distVersion, "BIN="+filepath.Join(dir, "bin", "chaosctl"),
		"DESTDIR="+destdir, "PREFIX=/opt/chaosctl")
	installed := filepath.Join(destdir, "opt", "chaosctl", "bin", "chaosctl")
	if fi, err := os.Stat(installed); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("make install: %s: %v %v", installed, fi, err)
	}

	distDir := filepath.Join(dir, "dist")
	makeIn(t, "dist", "VERSION="+distVersion, "DIST="+distDir, "PLATFORMS="+platform)
	name := "chaosctl-" + distVersion + "-" + runtime.GOOS + "-" + runtime.GOARCH
	built := filepath.Join(distDir, name)
	sums := readSums(t, filepath.Join(distDir, "SHA256SUMS"))
	if len(sums) != 1 || sums[name] != sha256File(t, built) {
		t.Errorf("SHA256SUMS = %v, want %s of %s", sums, sha256File(t, built), name)
	}

	want := wantVersionLine(t)
	for _, bin := range []string{installed, built} {
		for _, arg := range []string{"version", "--version"} {
			out, err := exec.Command(bin, arg).Output()
			if err != nil {
				t.Fatalf("%s %s: %v", bin, arg, err)
			}
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("%s %s = %q, want %q", filepath.Base(bin), arg, got, want)
			}
		}
		checkStripped(t, bin)
	}
}

// checkStripped fails unless bin is an ELF file without a symbol table or
// DWARF sections (-s -w).
func checkStripped(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("%s is no ELF file (%v): the stripping check is for Linux", bin, err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("%s has section %s: not stripped", bin, s.Name)
		}
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// readSums reads a sha256sum file: "HEX  NAME" per line.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		sums[name] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}
