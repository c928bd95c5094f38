package runner

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments/annotate"
)

// annotate posts the run's fault windows to Settings.AnnotateURL. It is
// best effort within annotate.Budget, also after an interruption (the
// windows happened); a failure is logged as a warning and changes nothing
// else.
func (r *runState) annotate(ctx context.Context) {
	as := annotate.Faults(r.res, r.runID)
	if len(as) == 0 {
		return
	}
	c := annotate.Client{URL: r.opts.AnnotateURL, Token: r.opts.AnnotateToken}
	posted, err := c.PostAll(context.WithoutCancel(ctx), as)
	log := r.log.WithFields(logrus.Fields{"url": r.opts.AnnotateURL, "posted": posted, "faults": len(as)})
	if err != nil {
		log.WithError(err).Warn("annotations not posted; the run's verdict does not depend on them")
		return
	}
	log.Info("fault windows posted as annotations")
}
