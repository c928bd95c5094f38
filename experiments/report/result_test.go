package report

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// result.json is a public, stable schema: its rendering of a fixed run is a
// golden file, so a renamed or dropped field shows up as a diff.
func TestResultJSONGolden(t *testing.T) {
	for _, fixture := range []string{"run", "run-pass"} {
		t.Run(fixture, func(t *testing.T) {
			run := loadFixture(t, filepath.Join("testdata", fixture))
			dir := t.TempDir()
			if err := run.Result.WriteJSON(dir); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, FileResult))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "result-"+fixture+".json", got)
			back, err := ReadJSON(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, run.Result) {
				t.Fatalf("result.json does not round-trip:\n got %+v\nwant %+v", back, run.Result)
			}
		})
	}
}
