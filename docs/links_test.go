package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// mdLinkRE finds Markdown links and images: [text](target).
	mdLinkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// codeRE finds fenced blocks and code spans, whose brackets are no links.
	codeRE = regexp.MustCompile("(?s)```.*?```|`[^`\n]*`")
)

// Every relative link of the user documentation (the README, these pages,
// ARCHITECTURE.md) resolves to a file of the repository: none points
// outside it, nor to a document the repository lacks.
func TestLinksResolveInsideTheRepository(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md", "../ARCHITECTURE.md", "../scripts/k8s/README.md")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := codeRE.ReplaceAllString(string(b), "")
		for _, m := range mdLinkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			abs, err := filepath.Abs(filepath.Join(filepath.Dir(file), target))
			if err != nil {
				t.Fatal(err)
			}
			if rel, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links %s, outside the repository", file, m[1])
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s links %s, which does not exist", file, m[1])
			}
		}
	}
}

// No file of the repository sends readers to a design document it does not
// hold, nor to the folder beside the repository it once came with (the
// format was once "described in section 4" of such a document). The names
// are built here, so this file does not hold them either.
func TestNoReferenceToAMissingDesignDocument(t *testing.T) {
	root := ".."
	design := strings.ToUpper("design") + ".md"
	sibling := ".." + "/" + "shared"
	if _, err := os.Stat(filepath.Join(root, design)); err == nil {
		t.Skipf("the repository has a %s", design)
	}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "chaosctl-out", "bin":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".md", ".go", ".yaml", ".yml", ".sh", ".txt", "":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, name := range []string{design, sibling} {
			if strings.Contains(string(b), name) {
				t.Errorf("%s mentions %s, which the repository does not hold", path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
