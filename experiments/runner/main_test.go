package runner

import (
	"testing"

	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// The test binary serves as the demo members' executable (the shared
// target's tests start real member processes).
func TestMain(m *testing.M) { processtest.Main(m) }
