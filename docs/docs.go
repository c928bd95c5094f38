// Package docs is chaosctl's user documentation (the Markdown files beside
// this one; README.md is the index). The two format references are
// embedded: `chaosctl schema` takes its descriptions, defaults and required
// fields from their tables (experiments.ExperimentSchema), and the tests of
// package experiments keep those tables in step with the decoder.
package docs

import _ "embed"

// Format is format.md, the experiment format reference.
//
//go:embed format.md
var Format string

// GameDay is gameday.md, the GameDay playbook format reference.
//
//go:embed gameday.md
var GameDay string
