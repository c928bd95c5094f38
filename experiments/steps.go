package experiments

import (
	"fmt"
	"strconv"
	"strings"
)

// ExecText says what a command does, for the plan and the reports:
// `exec [sh -c "echo ok"] exits 0, stdout ~ /ok/ within 5s`.
func ExecText(x *ExecStep) string {
	words := make([]string, len(x.Command))
	for i, w := range x.Command {
		if w == "" || strings.ContainsAny(w, " \t\"'\\") {
			w = strconv.Quote(w)
		}
		words[i] = w
	}
	s := fmt.Sprintf("exec [%s] exits %d", strings.Join(words, " "), x.Expect.ExitCode)
	if x.Expect.Stdout != "" {
		s += fmt.Sprintf(", stdout ~ /%s/", x.Expect.Stdout)
	}
	if x.Dir != "" {
		s += " in " + x.Dir
	}
	return s + " within " + x.Timeout.String()
}

// StepText says what an action's or rollback's step does.
func StepText(s *ActionStep) string {
	switch {
	case s == nil:
		return "nothing"
	case s.Exec != nil:
		return ExecText(s.Exec)
	case s.HTTP != nil:
		h := s.HTTP
		want := "2xx"
		if h.Status != 0 {
			want = strconv.Itoa(h.Status)
		}
		return fmt.Sprintf("%s %s answers %s within %s", h.Method, h.URL, want, h.Timeout)
	}
	return "nothing"
}
