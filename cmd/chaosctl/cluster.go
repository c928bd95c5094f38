package main

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/targets/clusterctl"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/node"
	"github.com/chaosctl/chaosctl/targets/demo/raftkv"
)

// DefaultBasePort is where `cluster up` puts its first member (g1) unless told.
const DefaultBasePort = 7100

func clusterCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "cluster",
		Usage: "run the bundled demo cluster",
		Subcommands: []*cli.Command{{
			Name:  "up",
			Usage: "run the demo cluster behind a fault plane in the foreground until Ctrl-C",
			Description: "Starts every member as a child process of this binary behind an embedded fault plane\n" +
				"(toxiproxy: one proxy per link client→member, g*→n*, n*→n*), waits until all are ready,\n" +
				"prints their addresses and serves until SIGINT, SIGTERM, SIGHUP or SIGQUIT; then it reverts every live\n" +
				"fault and stops the members. The printed ADDRESS of each member passes through the fault\n" +
				"plane and takes consecutive ports from --base-port (gateways first, then store nodes);\n" +
				"the members themselves listen on free ports (LISTEN).\n\n" +
				"The cluster registers in the state directory as cluster/NAME.json (mode 0600: control\n" +
				"address and token, removed on exit), where `chaosctl inject`, `heal` and `status` find\n" +
				"it. Without --name it is \"default\", or default-2, default-3, ... when that one runs\n" +
				"already; an explicit --name that is taken is an error. Every fault is journalled in the\n" +
				"ledger, so `chaosctl recover` cleans up after a SIGKILL.\n\n" +
				"   chaosctl cluster up --nodes 3\n" +
				"   curl -X PUT --data-binary world http://127.0.0.1:7100/kv/hello\n" +
				"   chaosctl inject latency --nodes g1 --delay 200ms --ttl 2m\n" +
				"   chaosctl status\n" +
				"   chaosctl heal --all",
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "nodes", Value: demo.DefaultNodes, Usage: "store nodes n1..nN"},
				&cli.IntFlag{Name: "gateways", Value: demo.DefaultGateways, Usage: "gateways g1..gG"},
				&cli.IntFlag{Name: "replicas", Value: demo.DefaultReplicas, Usage: "replicas per key (n)"},
				&cli.IntFlag{Name: "write-quorum", Value: demo.DefaultWriteQuorum, Usage: "write quorum (w); eventual uses 1"},
				&cli.IntFlag{Name: "read-quorum", Value: demo.DefaultReadQuorum, Usage: "read quorum (r); eventual uses 1"},
				&cli.StringFlag{Name: "consistency", Value: demo.DefaultConsistency, Usage: "linearizable, quorum, eventual or raft"},
				&cli.StringFlag{Name: "raft-reads", Value: raftkv.ReadIndex, Usage: "raft mode's reads: index (ReadIndex, a quorum round per read) or lease (a read lease judged on the node's clock: stale reads under clock skew or pauses)"},
				&cli.IntFlag{Name: "vnodes", Value: demo.DefaultVNodes, Usage: "virtual nodes per store node on the ring"},
				&cli.StringFlag{Name: "sharding", Value: demo.DefaultSharding, Usage: "placement of keys on the store nodes: hash (a consistent-hash ring) or range (ordered key ranges cut at --splits)"},
				&cli.StringFlag{Name: "splits", Usage: "range sharding's split points, comma-separated and increasing as byte strings, e.g. k3,k6 (default: cut k0..k999 into one equal range per node)"},
				&cli.StringFlag{Name: "persistence", Value: demo.PersistMemory, Usage: "memory or disk (bbolt, fsync on every write)"},
				&cli.StringFlag{Name: "recovery", Value: node.RecoveryResync, Usage: "what a store node restarted without its data (memory persistence) does: resync (catch up from its peers before answering reads) or none (answer at once: amnesia)"},
				&cli.StringFlag{Name: "data-dir", Usage: "directory for member data and logs (default: a temporary one, removed on exit)"},
				&cli.IntFlag{Name: "base-port", Value: DefaultBasePort, Usage: "first member port; 0 picks free ports"},
				&cli.StringFlag{Name: "cache", Value: "none", Usage: "gateway cache policy: none, lru, arc, 2q, lfu"},
				&cli.StringFlag{Name: "penetration", Value: demo.DefaultPenetration, Usage: "defence against reads of missing keys: bloom (a Bloom filter of existing keys per gateway; trusted with one gateway), negative (cache not-found answers; needs --cache), none"},
				&cli.Float64Flag{Name: "bloom-false-positive", Value: demo.DefaultBloomFalsePos, Usage: "false positive rate the Bloom filter is sized for (--penetration bloom), above 0 up to 0.5"},
				&cli.StringFlag{Name: "write-mode", Value: demo.WriteInvalidate, Usage: "gateway cache write mode: invalidate, through, behind"},
				&cli.Float64Flag{Name: "rate-limit", Usage: "requests/s per gateway, 0 = off"},
				&cli.StringFlag{Name: "state", Usage: "also write the JSON state file here once every member is ready (mode 0600)"},
				&cli.StringFlag{Name: "state-dir", EnvVars: []string{injectors.EnvStateDir}, Usage: "state directory: the cluster registers in cluster/NAME.json there, and journals faults in its ledger (default: the user's state directory)"},
				&cli.StringFlag{Name: "name", Value: clusterctl.DefaultName, Usage: "the cluster's name for inject, heal and status (--cluster); unset and taken: NAME-2, NAME-3, ...; set and taken: an error"},
			},
			Action: func(c *cli.Context) error { return clusterUp(c, e) },
		}},
	}
}

func clusterSpecFromFlags(c *cli.Context) (demo.ClusterSpec, error) {
	s := demo.ClusterSpec{
		Nodes:       c.Int("nodes"),
		Gateways:    c.Int("gateways"),
		VNodes:      c.Int("vnodes"),
		Sharding:    c.String("sharding"),
		Consistency: c.String("consistency"),
		Persistence: c.String("persistence"),
		Recovery:    c.String("recovery"),
	}
	if c.IsSet("raft-reads") {
		s.RaftReads = c.String("raft-reads")
	}
	if c.IsSet("splits") {
		s.Splits = strings.Split(c.String("splits"), ",")
	}
	// Quorum flags the user did not set follow the mode and node count.
	if c.IsSet("replicas") {
		s.Replication.N = c.Int("replicas")
	}
	if c.IsSet("write-quorum") {
		s.Replication.W = c.Int("write-quorum")
	}
	if c.IsSet("read-quorum") {
		s.Replication.R = c.Int("read-quorum")
	}
	s.Cache.Policy = c.String("cache")
	s.Cache.WriteMode = c.String("write-mode")
	s.Cache.Penetration = c.String("penetration")
	s.Cache.BloomFalsePositive = c.Float64("bloom-false-positive")
	s.Resilience.RateLimit = c.Float64("rate-limit")
	if s.Nodes < 1 {
		return s, fmt.Errorf("--nodes %d: at least 1 store node is needed", s.Nodes)
	}
	if s.Gateways < 0 {
		return s, fmt.Errorf("--gateways %d: must be ≥ 0", s.Gateways)
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

func clusterUp(c *cli.Context, e *env) (err error) {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("cluster up takes no arguments; got %q", c.Args().Slice()))
	}
	spec, serr := clusterSpecFromFlags(c)
	if serr != nil {
		return usageError(serr)
	}
	base, members := c.Int("base-port"), len(spec.MemberIDs())
	if base < 0 || base+members > 65535 {
		return usageError(fmt.Errorf("--base-port %d: must be 0 (free ports) or leave room for %d ports below 65536", base, members))
	}
	ctx, stop := signal.NotifyContext(c.Context, stopSignals...)
	defer stop()
	// A panic in a fault's expiry stops the cluster too, as crashed.
	ctx, crashed := context.WithCancelCause(ctx)
	defer crashed(nil)
	cluster, err := clusterctl.Up(ctx, clusterctl.UpOptions{
		Spec: spec, Name: c.String("name"), NameExplicit: c.IsSet("name"),
		StateDir: c.String("state-dir"), DataDir: c.String("data-dir"), StateFile: c.String("state"),
		BasePort: base, LogLevel: c.String("log-level"), Log: logrus.NewEntry(e.log),
		OnPanic: func(p *crash.Panic) { crashed(p) },
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cluster.Close(); cerr != nil {
			// A fault may remain: that outranks a crash.
			err = withCode(exitEnvironment, errors.Join(err, cerr))
		}
	}()
	st := cluster.State()
	printMembers(e, spec, cluster.Members(), st.Name, time.Since(st.Started))
	e.log.WithFields(logrus.Fields{"component": "cluster", "cluster": st.Name, "dir": st.Dir, "control": st.Control, "state": cluster.StatePath()}).
		Info("cluster ready; Ctrl-C stops it")
	<-ctx.Done()
	if p, ok := errors.AsType[*crash.Panic](context.Cause(ctx)); ok {
		return withCode(exitCrashed, p)
	}
	return nil
}

func printMembers(e *env, s demo.ClusterSpec, members []clusterctl.MemberStatus, name string, took time.Duration) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tADDRESS\tLISTEN\tPID\tLOG")
	for _, m := range members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.Role, m.Addr, m.Listen, m.PID, m.Log)
	}
	_ = tw.Flush()
	fmt.Fprintf(e.stdout, "\ncluster %s: %d store nodes (%s, n=%d w=%d r=%d, %s), %d gateways, ready in %s\n",
		name, s.Nodes, s.Consistency, s.Replication.N, s.Replication.W, s.Replication.R, s.Persistence,
		s.Gateways, took.Round(time.Millisecond))
	fmt.Fprintln(e.stdout, "ADDRESS passes through the fault plane (what `chaosctl inject` acts on); LISTEN is the member itself.")
	for _, m := range members {
		if m.Role == demo.RoleGateway {
			fmt.Fprintf(e.stdout, "try:  curl -X PUT --data-binary world http://%s/kv/hello\n", m.Addr)
			fmt.Fprintf(e.stdout, "      curl http://%s/kv/hello\n", m.Addr)
			fmt.Fprintf(e.stdout, "      chaosctl inject latency --nodes %s --delay 200ms --ttl 1m\n", m.ID)
			break
		}
	}
}
