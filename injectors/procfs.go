package injectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return procState{}, nil
	}
	if err != nil {
		return procState{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself; the fields after the last ')' are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procState{}, errors.New("unexpected /proc stat format")
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 {
		return procState{}, errors.New("unexpected /proc stat format")
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procState{}, errors.New("unexpected /proc stat start time")
	}
	return procState{exists: true, zombie: fields[0] == "Z" || fields[0] == "X", start: start}, nil
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
// start times of another boot mean nothing.
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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return m, false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
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
// in the run directory).
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
