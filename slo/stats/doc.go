// Package stats holds the statistics a control run is judged with: the
// Mann-Whitney U rank test, the Hodges-Lehmann shift with its
// distribution-free confidence interval, and the Wilson and Newcombe score
// intervals of proportions. It is pure: functions of slices and counts,
// no I/O, no randomness. The normal distribution is gonum's (stat/distuv).
//
// # What each one assumes
//
// MannWhitneyU tests whether two independent samples come from one
// distribution, against the alternative that one is stochastically larger
// (a shift, for distributions of one shape). It assumes each sample's
// values are independent and identically distributed. Its p-value is exact
// (the permutation distribution of U, as R's wilcox.test computes it) when
// both samples have fewer than ExactBelow values and there are no ties;
// otherwise it is the normal approximation with the tie correction of the
// variance and a continuity correction of ½ (R's exact = FALSE, correct =
// TRUE).
//
// HodgesLehmann estimates the shift Δ in "x is distributed as y + Δ" as the
// median of the n·m differences xᵢ − yⱼ, and gives the Moses (Bauer 1972)
// interval: two order statistics of those differences, chosen from the
// exact distribution of U where the test is exact, else from its normal
// approximation with the same corrections as the test (so the interval and
// the p-value agree where they overlap). It assumes a pure shift: both
// samples have one distribution up to location.
//
// Wilson is the score interval of one proportion; NewcombeDiff the hybrid
// score interval of a difference of two independent proportions
// (Newcombe 1998, method 10), built from the two Wilson intervals. Both
// assume independent Bernoulli trials.
//
// # What a run's data does to those assumptions
//
// chaosctl feeds these tests one value per second (a latency quantile, an
// error ratio) of a control run and of an experiment. Such series are
// autocorrelated: a slow second is likely followed by another (a GC pause,
// a breaker that stays open, a machine that is busy for a while), so n
// seconds carry fewer than n independent observations, and the p-values and
// intervals here are narrower than the truth. Requests are not independent
// trials either (they share connections, queues and caches), so a Newcombe
// interval over thousands of requests is narrower still. Read a
// significant result as "the difference is larger than the second-to-second
// noise of these two runs", not as a calibrated error rate; the degradation
// limits (a shift must exceed a size you chose, not just be nonzero) are
// what keeps that from failing gates on noise.
//
// # References
//
// The tests check these functions against R 4.2's wilcox.test, pwilcox,
// qwilcox and prop.test on the textbook datasets of R's own documentation
// (Hollander & Wolfe 1973, p. 69; the airquality ozone readings), and
// NewcombeDiff against the published Table II of Newcombe, "Interval
// estimation for the difference between independent proportions",
// Statistics in Medicine 17 (1998) 873–890.
//
// # Use
//
//	mw, _ := stats.MannWhitneyU(experiment, control)   // mw.P two-sided
//	hl, _ := stats.HodgesLehmann(experiment, control, 0.95)
//	// hl.Estimate is the shift, hl.Low..hl.High its 95 % interval
//	d, iv := stats.NewcombeDiff(badE, totalE, badC, totalC, 0.95)
package stats
