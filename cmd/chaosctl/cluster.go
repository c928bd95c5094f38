package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/process"
)

// DefaultBasePort is where `cluster up` puts its first member (g1) unless told.
const DefaultBasePort = 7100

func clusterCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "cluster",
		Usage: "run the bundled demo cluster",
		Subcommands: []*cli.Command{{
			Name:  "up",
			Usage: "run the demo cluster in the foreground until Ctrl-C",
			Description: "Starts every member as a child process of this binary, waits until all are ready,\n" +
				"prints their addresses and serves until SIGINT or SIGTERM, then stops them all.\n" +
				"Members take consecutive ports from --base-port: gateways first, then store nodes.\n\n" +
				"   chaosctl cluster up --nodes 3 --state cluster.json\n" +
				"   curl -X PUT --data-binary world http://127.0.0.1:7100/kv/hello\n" +
				"   curl http://127.0.0.1:7100/kv/hello",
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "nodes", Value: demo.DefaultNodes, Usage: "store nodes n1..nN"},
				&cli.IntFlag{Name: "gateways", Value: demo.DefaultGateways, Usage: "gateways g1..gG"},
				&cli.IntFlag{Name: "replicas", Value: demo.DefaultReplicas, Usage: "replicas per key (n)"},
				&cli.IntFlag{Name: "write-quorum", Value: demo.DefaultWriteQuorum, Usage: "write quorum (w); eventual uses 1"},
				&cli.IntFlag{Name: "read-quorum", Value: demo.DefaultReadQuorum, Usage: "read quorum (r); eventual uses 1"},
				&cli.StringFlag{Name: "consistency", Value: demo.DefaultConsistency, Usage: "linearizable, quorum or eventual"},
				&cli.IntFlag{Name: "vnodes", Value: demo.DefaultVNodes, Usage: "virtual nodes per store node on the ring"},
				&cli.StringFlag{Name: "persistence", Value: demo.PersistMemory, Usage: "memory or disk (bbolt, fsync on every write)"},
				&cli.StringFlag{Name: "data-dir", Usage: "directory for member data and logs (default: a temporary one, removed on exit)"},
				&cli.IntFlag{Name: "base-port", Value: DefaultBasePort, Usage: "first member port; 0 picks free ports"},
				&cli.StringFlag{Name: "cache", Value: "none", Usage: "gateway cache policy: none, lru, arc, 2q"},
				&cli.StringFlag{Name: "write-mode", Value: demo.WriteInvalidate, Usage: "gateway cache write mode: invalidate, through, behind"},
				&cli.Float64Flag{Name: "rate-limit", Usage: "requests/s per gateway, 0 = off"},
				&cli.StringFlag{Name: "state", Usage: "write a JSON state file here once every member is ready (mode 0600)"},
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
		Consistency: c.String("consistency"),
		Persistence: c.String("persistence"),
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

func clusterUp(c *cli.Context, e *env) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("cluster up takes no arguments; got %q", c.Args().Slice()))
	}
	spec, err := clusterSpecFromFlags(c)
	if err != nil {
		return usageError(err)
	}
	base := c.Int("base-port")
	if base < 0 || base+len(spec.MemberIDs()) > 65535 {
		return usageError(fmt.Errorf("--base-port %d: must be 0 (free ports) or leave room for %d ports below 65536", base, len(spec.MemberIDs())))
	}
	dir := c.String("data-dir")
	keep := dir != ""
	if !keep {
		if dir, err = os.MkdirTemp("", "chaosctl-cluster-"); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	log := e.log.WithField("component", "cluster")

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	cl, err := process.Start(ctx, spec, process.Options{
		BasePort: base,
		Dir:      dir,
		Log:      log,
		LogLevel: c.String("log-level"),
	})
	if err != nil {
		return err
	}
	defer func() {
		log.Info("stopping members")
		_ = cl.Stop(context.Background())
	}()

	control, closeControl, err := serveControl(cl, log)
	if err != nil {
		return err
	}
	defer closeControl()
	if path := c.String("state"); path != "" {
		if err := process.WriteState(path, cl.State(control)); err != nil {
			return err
		}
		defer os.Remove(path)
	}
	printMembers(e, cl, time.Since(start))
	log.WithFields(logrus.Fields{"dir": dir, "control": control}).Info("cluster ready; Ctrl-C stops it")

	<-ctx.Done()
	return nil
}

func printMembers(e *env, cl *process.Cluster, took time.Duration) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tADDRESS\tPID\tLOG")
	for _, m := range cl.Members() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", m.ID, m.Role, m.Addr, m.PID, m.Log)
	}
	_ = tw.Flush()
	s := cl.Spec()
	fmt.Fprintf(e.stdout, "\n%d store nodes (%s, n=%d w=%d r=%d, %s), %d gateways, ready in %s\n",
		s.Nodes, s.Consistency, s.Replication.N, s.Replication.W, s.Replication.R, s.Persistence,
		s.Gateways, took.Round(time.Millisecond))
	if gw := cl.Addrs(demo.RoleGateway); len(gw) > 0 {
		fmt.Fprintf(e.stdout, "try:  curl -X PUT --data-binary world http://%s/kv/hello\n", gw[0])
		fmt.Fprintf(e.stdout, "      curl http://%s/kv/hello\n", gw[0])
	}
}

// serveControl serves the cluster's control API on a free loopback port: for
// now GET /v1/status (members, pids, running/paused), bearer-token protected.
func serveControl(cl *process.Cluster, log *logrus.Entry) (addr string, closeFn func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("control API: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+cl.Token() {
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		writeJSON(w, cl.Members())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Warn("control API stopped")
		}
	}()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
