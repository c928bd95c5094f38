package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
)

// Every output carries the receipts: the terminal and summary.md a table,
// junit.xml a property per receipt and an error case per receipt that
// contradicts its fault, report.html a table with each check.
func TestReceiptsAppearInEveryOutput(t *testing.T) {
	run := loadFixture(t, fixturePass)
	if len(run.Result.Faults) < 2 {
		t.Fatalf("fixture has %d faults", len(run.Result.Faults))
	}
	f0, f1 := &run.Result.Faults[0], &run.Result.Faults[1]
	f0.Receipt = &injectors.Receipt{Verified: true, Summary: "partition isolate-one: 6 checks hold", Took: "504ms",
		Checks: []injectors.ReceiptCheck{{Subject: "link n1→n2", Want: "cut (a probe fails)", Got: "fails: context deadline exceeded", OK: true}}}
	f0.RevertReceipt = &injectors.Receipt{Verified: true, Summary: "partition isolate-one reverted: 6 checks hold", Took: "18ms"}
	f1.Receipt = &injectors.Receipt{Summary: "1 of 1 checks contradict crash kill-n2: member n2: want down, got running", Took: "1ms",
		Checks: []injectors.ReceiptCheck{{Subject: "member n2", Want: "down", Got: "running (/proc/7/stat state S)"}}}
	f1.RevertReceipt = &injectors.Receipt{Skipped: "no probe path", Summary: "not measured: no probe path", Took: "0s"}

	var term bytes.Buffer
	if err := Terminal(&term, run.Result, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RECEIPT", "isolate-one  applied   504ms  verified", "kill-n2      applied   1ms    DID NOT HOLD  1 of 1 checks contradict crash kill-n2", "kill-n2      reverted  0s     skipped       not measured: no probe path"} {
		if !strings.Contains(term.String(), want) {
			t.Errorf("terminal lacks %q:\n%s", want, term.String())
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "### Fault receipts") || !strings.Contains(md.String(), "| kill-n2 | applied | ❌ **did not hold** | 1 of 1 checks contradict crash kill-n2") {
		t.Errorf("summary.md lacks the receipts:\n%s", md.String())
	}
	var ju bytes.Buffer
	if err := WriteJUnit(&ju, run.Result); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<property name="fault.isolate-one.receipt" value="verified (partition isolate-one: 6 checks hold, 504ms)">`,
		`<testcase name="fault kill-n2 receipt"`, `type="fault-not-landed"`, "member n2: want down, got running (/proc/7/stat state S) (CONTRADICTS THE FAULT)"} {
		if !strings.Contains(ju.String(), want) {
			t.Errorf("junit.xml lacks %q:\n%s", want, ju.String())
		}
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<h3 id="receipts">Fault receipts</h3>`, `<td class="fail">did not hold</td>`, "link n1→n2: want cut (a probe fails), got fails: context deadline exceeded (ok)"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
