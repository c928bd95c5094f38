package injectors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"github.com/chaosctl/chaosctl/targets"
)

// groupProc is one process of a command member's group, or one that bears
// its cookie.
type groupProc struct {
	pid   int
	pgid  int
	start uint64
}

// memberGroup is what is left of a command member chaosctl started: the
// processes of its group, when the group is still the member's, and the
// processes bearing its cookie wherever they are.
type memberGroup struct {
	// verified: the group is the member's (its leader has the recorded
	// start time, or one of its processes bears the cookie), so a signal
	// to the whole group reaches no one else.
	verified bool
	// leaderReused: the leader's pid belongs to another process now.
	leaderReused bool
	procs        []groupProc
}

// findGroup reads /proc for what is left of command member m: the processes
// of group m.PGID when it is verified to be the member's, and every process
// whose environment holds m.Cookie. A pid cannot be reused as a process
// group id while the group has a process, so a group with one verified
// process is the member's whole group. Zombies are left out (their parent
// reaps them).
func findGroup(m ProcessRef) (memberGroup, error) {
	pfs, err := procFS()
	if err != nil {
		return memberGroup{}, err
	}
	all, err := pfs.AllProcs()
	if err != nil {
		return memberGroup{}, fmt.Errorf("list processes: %w", err)
	}
	var g memberGroup
	var inGroup, marked []groupProc
	self := os.Getpid()
	for _, p := range all {
		if p.PID == self {
			continue // recover itself, whatever its environment says
		}
		st, err := p.Stat()
		if err != nil || st.State == "Z" || st.State == "X" {
			continue // gone meanwhile, or a zombie
		}
		gp := groupProc{pid: p.PID, pgid: st.PGRP, start: st.Starttime}
		cookie := hasCookie(p, m.Cookie)
		switch {
		case p.PID == m.PID && (m.Start == 0 || st.Starttime != m.Start || st.PGRP != m.PGID):
			g.leaderReused = !cookie
		case p.PID == m.PID:
			g.verified = true
		}
		if cookie {
			marked = append(marked, gp)
			if st.PGRP == m.PGID {
				g.verified = true
			}
		}
		if st.PGRP == m.PGID {
			inGroup = append(inGroup, gp)
		}
	}
	g.procs = marked
	if g.verified {
		for _, gp := range inGroup {
			if !slices.Contains(g.procs, gp) {
				g.procs = append(g.procs, gp)
			}
		}
	}
	slices.SortFunc(g.procs, func(a, b groupProc) int { return a.pid - b.pid })
	return g, nil
}

// hasCookie reports whether process p's environment holds the member cookie
// (never for an empty cookie, nor for a process whose environment cannot be
// read: another user's).
func hasCookie(p procfs.Proc, cookie string) bool {
	if cookie == "" {
		return false
	}
	env, err := p.Environ()
	if err != nil {
		return false
	}
	return slices.Contains(env, targets.EnvMemberCookie+"="+cookie)
}

// signalGroup sends sig to the verified group as a whole and to each of
// its other processes (those bearing the cookie that left the group).
func signalGroup(m ProcessRef, g memberGroup, sig syscall.Signal) error {
	var errs []error
	if g.verified {
		if err := syscall.Kill(-m.PGID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("%v to process group %d: %w", sig, m.PGID, err))
		}
	}
	for _, p := range g.procs {
		if g.verified && p.pgid == m.PGID {
			continue
		}
		// Still the same process? It was read a moment ago.
		if st, err := readProc(p.pid); err != nil || !st.running() || st.start != p.start {
			continue
		}
		if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("%v to pid %d: %w", sig, p.pid, err))
		}
	}
	return errors.Join(errs...)
}

// endGroup thaws (SIGCONT) and kills (SIGKILL) what is left of command
// member m, chaosctl's own child: its whole process group (verified, see
// findGroup) and every process bearing its cookie, so that none stays
// stopped nor runs on orphaned. It reads /proc again after each round until
// nothing is left, within recoverKillWait. A process that merely reused a
// pid of the member is never signalled.
func endGroup(ctx context.Context, m ProcessRef, sameBoot bool) ProcessAction {
	act := ProcessAction{ID: m.ID, PID: m.PID}
	if !sameBoot {
		act.Action, act.Detail = ActionGone, "the machine rebooted since"
		return act
	}
	deadline := time.Now().Add(recoverKillWait)
	var ended []int
	for round := 0; ; round++ {
		g, err := findGroup(m)
		if err != nil {
			act.Action, act.Detail = ActionFailed, err.Error()
			return act
		}
		if len(g.procs) == 0 {
			switch {
			case len(ended) > 0:
				act.Action, act.Detail = ActionKilled, groupDetail(m, ended)
			case g.leaderReused:
				act.Action, act.Detail = ActionLeftOver, "the pid now belongs to another process (its start time or group differs), and no process bears the member's cookie"
			default:
				act.Action = ActionGone
			}
			return act
		}
		if time.Now().After(deadline) {
			left := make([]int, len(g.procs))
			for i, p := range g.procs {
				left[i] = p.pid
			}
			act.Action, act.Detail = ActionFailed, fmt.Sprintf("still alive %s after SIGKILL: pids %s", recoverKillWait, pidsText(left))
			return act
		}
		for _, p := range g.procs {
			if !slices.Contains(ended, p.pid) {
				ended = append(ended, p.pid)
			}
		}
		// SIGCONT first: a stopped process dies of SIGKILL too, but a
		// thawed group does not stay stopped should the kill be refused.
		_ = signalGroup(m, g, syscall.SIGCONT)
		if err := signalGroup(m, g, syscall.SIGKILL); err != nil {
			act.Action, act.Detail = ActionFailed, err.Error()
			return act
		}
		select {
		case <-ctx.Done():
			act.Action, act.Detail = ActionFailed, fmt.Sprintf("wait for process group %d to exit: %v", m.PGID, ctx.Err())
			return act
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// groupDetail says what endGroup ended.
func groupDetail(m ProcessRef, pids []int) string {
	return fmt.Sprintf("process group %d thawed and killed (pids %s)", m.PGID, pidsText(pids))
}

// pidsText lists pids in order, separated by commas.
func pidsText(pids []int) string {
	pids = slices.Sorted(slices.Values(pids))
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}
