package member

import (
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

func newGatewayRole(cfg demo.MemberConfig, m *metrics.Member, log *logrus.Entry) (role, error) {
	return nil, errors.New("gateway not wired yet")
}
