package experiments

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The OpenSLO v1 document ExportOpenSLO writes, field order as in the
// specification.
type (
	osloDoc struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Metadata   osloMeta `yaml:"metadata"`
		Spec       osloSpec `yaml:"spec"`
	}
	osloMeta struct {
		Name        string            `yaml:"name"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
	osloSpec struct {
		Description     string           `yaml:"description,omitempty"`
		Service         string           `yaml:"service"`
		Indicator       osloIndicator    `yaml:"indicator"`
		TimeWindow      []osloTimeWindow `yaml:"timeWindow"`
		BudgetingMethod string           `yaml:"budgetingMethod"`
		Objectives      []osloObjective  `yaml:"objectives"`
	}
	osloIndicator struct {
		Metadata osloMeta          `yaml:"metadata"`
		Spec     osloIndicatorSpec `yaml:"spec"`
	}
	osloIndicatorSpec struct {
		RatioMetric     *osloRatio  `yaml:"ratioMetric,omitempty"`
		ThresholdMetric *osloMetric `yaml:"thresholdMetric,omitempty"`
	}
	osloRatio struct {
		Counter bool        `yaml:"counter"`
		Good    *osloMetric `yaml:"good,omitempty"`
		Bad     *osloMetric `yaml:"bad,omitempty"`
		Total   *osloMetric `yaml:"total"`
	}
	osloMetric struct {
		MetricSource osloSource `yaml:"metricSource"`
	}
	osloSource struct {
		Type string            `yaml:"type"`
		Spec map[string]string `yaml:"spec"`
	}
	osloTimeWindow struct {
		Duration  string `yaml:"duration"`
		IsRolling bool   `yaml:"isRolling"`
	}
	osloObjective struct {
		DisplayName string   `yaml:"displayName,omitempty"`
		Op          string   `yaml:"op,omitempty"`
		Value       *float64 `yaml:"value,omitempty"`
		Target      float64  `yaml:"target"`
	}
)

// ExportOpenSLO writes e's SLOs whose events come from Prometheus (ratio
// and threshold) as OpenSLO v1 SLO documents, one per SLO, which
// `slos: [{openslo: FILE}]` imports back as the same SLOs. Availability
// and latency SLOs are measured by chaosctl's own workload, which no
// OpenSLO data source describes: they are returned in skipped. The time
// window is the workload's duration rounded up to whole minutes (OpenSLO's
// smallest unit); chaosctl's own budget period is always the run.
func ExportOpenSLO(e *Experiment) (out []byte, skipped []string, err error) {
	minutes := int64(math.Ceil(e.Workload.Duration.Minutes()))
	if minutes < 1 {
		minutes = 1
	}
	var buf bytes.Buffer
	for _, s := range e.SLOs {
		if !s.SLI.Prometheus() {
			skipped = append(skipped, s.Name)
			continue
		}
		doc := osloDoc{APIVersion: OpenSLOAPIVersion, Kind: "SLO", Metadata: osloMeta{Name: s.Name}, Spec: osloSpec{
			Description:     fmt.Sprintf("Exported by chaosctl from experiment %s; %s in queries is the run's measured period.", e.Metadata.Name, OpenSLORange),
			Service:         e.Metadata.Name,
			Indicator:       osloIndicator{Metadata: osloMeta{Name: s.Name + "-sli"}},
			TimeWindow:      []osloTimeWindow{{Duration: strconv.FormatInt(minutes, 10) + "m", IsRolling: true}},
			BudgetingMethod: "Occurrences",
			Objectives:      []osloObjective{{DisplayName: s.Name, Target: float64(s.Objective)}},
		}}
		if s.URL != "" {
			doc.Metadata.Annotations = map[string]string{OpenSLOURLAnnotation: s.URL}
		}
		prom := func(q string) *osloMetric {
			return &osloMetric{MetricSource: osloSource{Type: "Prometheus", Spec: map[string]string{"query": q}}}
		}
		if s.SLI == SLIThreshold {
			doc.Spec.Indicator.Spec.ThresholdMetric = prom(s.Query)
			doc.Spec.Objectives[0].Op, doc.Spec.Objectives[0].Value = string(s.Compare), s.Value
		} else {
			r := &osloRatio{Total: prom(s.Total)}
			if s.Bad != "" {
				r.Bad = prom(s.Bad)
			} else {
				r.Good = prom(s.Good)
			}
			doc.Spec.Indicator.Spec.RatioMetric = r
		}
		if buf.Len() > 0 {
			buf.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, nil, fmt.Errorf("encode SLO %s: %w", s.Name, err)
		}
		if err := enc.Close(); err != nil {
			return nil, nil, err
		}
	}
	return buf.Bytes(), skipped, nil
}

// measuredSeconds is the whole seconds of a measured period, at least 1.
func measuredSeconds(period time.Duration) int64 {
	return max(int64(math.Ceil(period.Seconds())), 1)
}

// PrometheusQueries are the PromQL queries of a ratio or threshold SLO
// whose measured period lasted period: good (or bad, when bad is set) and
// total, with OpenSLORange replaced by the period in whole seconds. A
// threshold SLO's queries count every second's sample of every series of
// its query as one event, good when it compares with the value as the SLO
// says.
func (s *SLO) PrometheusQueries(period time.Duration) (query string, bad bool, total string) {
	secs := measuredSeconds(period)
	rng := strconv.FormatInt(secs, 10) + "s"
	expand := func(q string) string { return strings.ReplaceAll(q, OpenSLORange, rng) }
	if s.SLI == SLIThreshold {
		value := 0.0
		if s.Value != nil {
			value = *s.Value
		}
		q := expand(s.Query)
		return fmt.Sprintf("sum(sum_over_time(((%s) %s bool %s)[%s:1s]))", q, s.Compare.PromQL(), strconv.FormatFloat(value, 'g', -1, 64), rng),
			false, fmt.Sprintf("sum(count_over_time((%s)[%s:1s]))", q, rng)
	}
	if s.Bad != "" {
		return expand(s.Bad), true, expand(s.Total)
	}
	return expand(s.Good), false, expand(s.Total)
}
