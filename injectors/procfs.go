package injectors

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/procfs"
)

// procFS is /proc, opened once.
var procFS = sync.OnceValues(procfs.NewDefaultFS)

// proc is process pid in /proc; a process that is gone is an error
// wrapping fs.ErrNotExist.
func proc(pid int) (procfs.Proc, error) {
	pfs, err := procFS()
	if err != nil {
		return procfs.Proc{}, err
	}
	return pfs.Proc(pid)
}

// procState is what /proc says about a pid.
type procState struct {
	exists bool
	zombie bool
	start  uint64 // start time in clock ticks since boot (field 22 of stat)
}

// running reports whether the pid is a live (not zombie) process.
func (s procState) running() bool { return s.exists && !s.zombie }

// readProc reads /proc/PID/stat. A process that is gone is not an error.
func readProc(pid int) (procState, error) {
	if pid <= 0 {
		return procState{}, nil
	}
	p, err := proc(pid)
	var st procfs.ProcStat
	if err == nil {
		st, err = p.Stat()
	}
	if errors.Is(err, fs.ErrNotExist) {
		return procState{}, nil
	}
	if err != nil {
		return procState{}, err
	}
	return procState{exists: true, zombie: st.State == "Z" || st.State == "X", start: st.Starttime}, nil
}

// procStart returns pid's start time, 0 when unknown.
func procStart(pid int) uint64 {
	s, err := readProc(pid)
	if err != nil {
		return 0
	}
	return s.start
}

// bootID identifies the running kernel boot ("" when unknown): pids and
// start times of another boot mean nothing. (procfs does not read
// /proc/sys/kernel/random/boot_id.)
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// memberProcess is what a demo member's command line says about it.
type memberProcess struct {
	ID      string `json:"id"`
	Listen  string `json:"listen"`
	DataDir string `json:"dataDir"`
}

// readMemberCmdline parses /proc/PID/cmdline as `... node --config JSON`;
// ok is false when the process is not a demo member.
func readMemberCmdline(pid int) (m memberProcess, ok bool) {
	p, err := proc(pid)
	if err != nil {
		return m, false
	}
	args, err := p.CmdLine()
	if err != nil {
		return m, false
	}
	for i := 0; i+2 < len(args); i++ {
		if args[i] == "node" && args[i+1] == "--config" {
			if json.Unmarshal([]byte(args[i+2]), &m) != nil || m.ID == "" {
				return m, false
			}
			return m, true
		}
	}
	return m, false
}

// procOutputs returns where pid's stdout and stderr point (member logs live
// in the run directory). procfs reads the targets of every descriptor
// only, not of one, so these two links are read here.
func procOutputs(pid int) []string {
	var out []string
	for _, fd := range []string{"1", "2"} {
		if target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd); err == nil {
			out = append(out, target)
		}
	}
	return out
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	if path == "" || dir == "" {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
