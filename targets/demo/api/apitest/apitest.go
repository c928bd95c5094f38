package apitest

import (
	"errors"
	"net/http"
	"syscall"

	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// Outcome classifies an answer of the demo cluster as the workload does,
// knowing only the status code or the request's error: 2xx and a 404 are
// ok; 503 and 429 (api.NoEffect) are definite failures, as is a refused
// connection (nothing was sent); anything else (500 indeterminate, 504, a
// timeout) is of unknown outcome.
func Outcome(code int, err error) slo.Outcome {
	switch {
	case err != nil && errors.Is(err, syscall.ECONNREFUSED):
		return slo.OutcomeFail
	case err != nil:
		return slo.OutcomeUnknown
	case code/100 == 2 || code == http.StatusNotFound:
		return slo.OutcomeOK
	case api.NoEffect(code):
		return slo.OutcomeFail
	}
	return slo.OutcomeUnknown
}
