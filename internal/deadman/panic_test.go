package deadman

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// panickyTransport panics on every request, as a bug in a renewal would.
type panickyTransport struct{}

func (panickyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	panic("injected by the test: a renewal panics")
}

// A panic while renewing one holder's lease does not end the program (and
// with it chaosctl's reverts): the keeper's loop gets it, logs it with the
// holder named, and stops renewing, so the leases lapse and their holders
// revert the faults by themselves.
func TestAPanicInARenewalEndsTheKeeperNotTheProgram(t *testing.T) {
	log, hook := logtest.NewNullLogger()
	log.SetOutput(io.Discard)
	k, err := newKeeper(func() []string { return []string{"http://127.0.0.1:1", "http://127.0.0.1:2"} }, "tok", 300*time.Millisecond, logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	k.hc = &http.Client{Transport: panickyTransport{}}
	k.start(context.Background())
	defer k.Abandon()
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the keeper's loop still runs 10s after its first renewal should have panicked")
	}
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel && strings.Contains(e.Message, "lease keeper: the lease renewal of http://127.0.0.1:") &&
			strings.Contains(e.Message, "injected by the test") && strings.Contains(e.Message, "the leases will lapse") {
			return
		}
	}
	t.Fatalf("no error logged for the panic; logged: %v", hook.AllEntries())
}
