package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/targets/clusterctl"
)

func injectCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "inject",
		Usage:     "apply a fault to a running `chaosctl cluster up` (GameDays)",
		ArgsUsage: "KIND",
		Description: "Applies one fault now, through the control API of the cluster that `chaosctl cluster up`\n" +
			"runs, and prints what was applied and when it expires. Every fault reverts by itself\n" +
			"after its --ttl (default " + clusterctl.DefaultFaultTTL.String() + "); `chaosctl heal` reverts it earlier. KIND is one of\n" +
			"" + strings.Join(clusterctl.Kinds(), ", ") + ".\n\n" +
			"   chaosctl inject partition --groups \"n1|n2,n3\" --behavior reject\n" +
			"   chaosctl inject partition --nodes n1 --ttl 30s           # cut n1 off every link\n" +
			"   chaosctl inject latency --nodes g1 --delay 200ms --jitter 50ms\n" +
			"   chaosctl inject bandwidth --links 'g1>n1,g1>n2' --rate 64KiB/s   # quote the '>'\n" +
			"   chaosctl inject crash --nodes n2 --restart-after 20s\n" +
			"   chaosctl inject pause --nodes n3 --ttl 10s\n" +
			"   chaosctl inject clockSkew --nodes n1 --offset -2s\n" +
			"   chaosctl inject corrupt --nodes n1 --count 5\n" +
			"   chaosctl inject latency --nodes g1 --delay 200ms --hold   # until Ctrl-C\n\n" +
			"With --hold, inject stays in the foreground and holds the fault on a short lease\n" +
			"(--lease, default " + deadman.DefaultTTL.String() + ") that it renews every third of it, until Ctrl-C, SIGTERM, SIGHUP\n" +
			"or SIGQUIT (it heals the fault and exits 3) or until the fault's --ttl (exit 0). If inject\n" +
			"dies (SIGKILL, a lost terminal, a crash), cluster up reverts the fault within the lease.\n\n" +
			"Link faults (partition, latency, bandwidth, reset, blackhole) act on the fault plane's\n" +
			"links: client>MEMBER (what the printed addresses reach), g*>n* and n*>n*; --nodes selects\n" +
			"every link from or to those members. Bad input exits 2 and applies nothing; no running\n" +
			"cluster exits 5.",
		Flags: append(clusterFlags(),
			&cli.StringFlag{Name: "name", Usage: "the fault's name, for heal and status (default: KIND-N)"},
			&cli.StringFlag{Name: "nodes", Usage: "members the fault acts on, comma separated (n1,g1; client for the clients' side of links)"},
			&cli.StringFlag{Name: "groups", Usage: "partition: groups cut apart, '|' between groups, ',' between members: \"n1|n2,n3\""},
			&cli.StringFlag{Name: "links", Usage: "link faults: the links, FROM>TO comma separated, quoted for the shell: 'n1>n2,g1>n1'"},
			&cli.BoolFlag{Name: "one-way", Usage: "partition with --groups: cut only the first group's outgoing links"},
			&cli.StringFlag{Name: "behavior", Usage: "partition: drop (callers time out; default), reject (connections refused) or isolate"},
			&cli.StringFlag{Name: "delay", Usage: "latency: added to each request-response exchange, e.g. 200ms"},
			&cli.StringFlag{Name: "jitter", Usage: "latency: ± this much, at most the delay"},
			&cli.StringFlag{Name: "rate", Usage: "bandwidth: per direction, e.g. 64KiB/s (at least 1kB/s)"},
			&cli.StringFlag{Name: "offset", Usage: "clockSkew: the shift of the clocks, e.g. 2s or -500ms"},
			&cli.StringFlag{Name: "ratio", Usage: "corrupt: share of each node's stored values to damage, e.g. 10% or 0.1"},
			&cli.IntFlag{Name: "count", Usage: "corrupt: number of stored values to damage on each node"},
			&cli.Int64Flag{Name: "seed", Usage: "corrupt: chooses which values are damaged"},
			&cli.StringFlag{Name: "restart-after", Usage: "crash, restart: start the members again after this long (the fault's TTL)"},
			&cli.StringFlag{Name: "ttl", Usage: "the fault reverts by itself after this long (default " + clusterctl.DefaultFaultTTL.String() + ")"},
			&cli.BoolFlag{Name: "hold", Usage: "stay in the foreground holding the fault on a lease until Ctrl-C (which heals it) or its --ttl"},
			&cli.StringFlag{Name: "lease", Usage: "with --hold: the fault reverts this long after inject's last renewal, " + deadman.MinTTL.String() + " to " + deadman.MaxTTL.String() + " (default " + deadman.DefaultTTL.String() + ")"},
			&cli.BoolFlag{Name: "json", Usage: "print the applied fault as JSON (as --output json)"}, outputFlag(),
		),
		Action: func(c *cli.Context) error { return inject(c, e) },
	}
}

func healCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "heal",
		Usage:     "revert a fault applied with `chaosctl inject` (NAME, or --all)",
		ArgsUsage: "[NAME]",
		Description: "Reverts the live fault NAME, or every live fault with --all, on the cluster that\n" +
			"`chaosctl cluster up` runs, and prints what was reverted. An unknown NAME exits 2.",
		Flags: append(clusterFlags(),
			&cli.BoolFlag{Name: "all", Usage: "revert every live fault"},
			&cli.BoolFlag{Name: "json", Usage: "print the reverted faults as JSON (as --output json)"}, outputFlag(),
		),
		Action: func(c *cli.Context) error { return heal(c, e) },
	}
}

func statusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show a running `chaosctl cluster up`: members and live faults with their remaining time",
		Flags: append(clusterFlags(),
			&cli.BoolFlag{Name: "json", Usage: "print the status as JSON (as --output json)"}, outputFlag(),
		),
		Action: func(c *cli.Context) error { return status(c, e) },
	}
}

// faultFromFlags builds the request of `inject KIND [flags]`; every error is
// a usage error naming the flag.
func faultFromFlags(c *cli.Context) (clusterctl.Request, error) {
	var r clusterctl.Request
	switch c.NArg() {
	case 0:
		return r, fmt.Errorf("inject needs a fault KIND: %s", strings.Join(clusterctl.Kinds(), ", "))
	case 1:
	default:
		return r, fmt.Errorf("inject takes one KIND; got %q (members go in --nodes)", c.Args().Slice())
	}
	kind, ok := clusterctl.CanonicalKind(c.Args().First())
	if !ok {
		return r, fmt.Errorf("unknown fault kind %q: allowed are %s", c.Args().First(), strings.Join(clusterctl.Kinds(), ", "))
	}
	r.Kind, r.Name = kind, c.String("name")
	r.Targets = clusterctl.SplitList(c.String("nodes"))
	if c.IsSet("nodes") && len(r.Targets) == 0 {
		return r, fmt.Errorf("--nodes %q: no member given", c.String("nodes"))
	}
	var err error
	if c.IsSet("groups") {
		if r.Groups, err = clusterctl.ParseGroups(c.String("groups")); err != nil {
			return r, err
		}
	}
	if c.IsSet("links") {
		if r.Links, err = clusterctl.ParseLinks(c.String("links")); err != nil {
			return r, err
		}
	}
	r.OneWay = c.Bool("one-way")
	r.Behavior = c.String("behavior")
	duration := func(flag string) (time.Duration, error) {
		if !c.IsSet(flag) {
			return 0, nil
		}
		d, err := experiments.ParseDuration(c.String(flag))
		if err != nil {
			return 0, fmt.Errorf("--%s: %w", flag, err)
		}
		return d, nil
	}
	if r.Delay, err = duration("delay"); err != nil {
		return r, err
	}
	if r.Jitter, err = duration("jitter"); err != nil {
		return r, err
	}
	if r.Offset, err = duration("offset"); err != nil {
		return r, err
	}
	if c.IsSet("delay") && r.Delay <= 0 {
		return r, fmt.Errorf("--delay %s: must be above 0", c.String("delay"))
	}
	if c.IsSet("rate") {
		rate, err := experiments.ParseByteRate(c.String("rate"))
		if err != nil {
			return r, fmt.Errorf("--rate: %w", err)
		}
		r.BytesPerSecond = int64(rate.BytesPerSecond())
	}
	if c.IsSet("ratio") {
		p, err := experiments.ParsePercent(c.String("ratio"))
		if err != nil {
			return r, fmt.Errorf("--ratio: %w", err)
		}
		if p <= 0 || p > 1 {
			return r, fmt.Errorf("--ratio %s: must be above 0 and at most 100%%", c.String("ratio"))
		}
		r.Ratio = float64(p)
	}
	r.Count = c.Int("count")
	if c.IsSet("count") && r.Count <= 0 {
		return r, fmt.Errorf("--count %d: must be above 0", r.Count)
	}
	r.Seed = c.Int64("seed")
	if c.IsSet("ttl") {
		if _, err := duration("ttl"); err != nil {
			return r, err
		}
		r.TTL = c.String("ttl")
	}
	if c.IsSet("lease") && !c.Bool("hold") {
		return r, fmt.Errorf("--lease applies to --hold only (without it the fault lasts its --ttl)")
	}
	if c.Bool("hold") {
		lease := deadman.DefaultTTL
		if c.IsSet("lease") {
			if lease, err = duration("lease"); err != nil {
				return r, err
			}
			if deadman.CheckTTL(lease) != nil {
				return r, fmt.Errorf("--lease %s: allowed are %s to %s", c.String("lease"), deadman.MinTTL, deadman.MaxTTL)
			}
		}
		if kind == injectors.KindCorrupt {
			return r, fmt.Errorf("--hold: corrupt has nothing to revert, so nothing to hold")
		}
		r.Lease = lease.String()
	}
	if c.IsSet("restart-after") {
		if kind != injectors.KindCrash && kind != injectors.KindRestart {
			return r, fmt.Errorf("--restart-after applies to crash and restart only, not to %s (use --ttl)", kind)
		}
		if c.IsSet("ttl") {
			return r, fmt.Errorf("--restart-after and --ttl: give one (for %s the TTL is when the members start again)", kind)
		}
		if _, err := duration("restart-after"); err != nil {
			return r, err
		}
		r.TTL = c.String("restart-after")
	}
	return r, nil
}

func inject(c *cli.Context, e *env) error {
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	req, err := faultFromFlags(c)
	if err != nil {
		return usageError(err)
	}
	st, err := findCluster(c)
	if err != nil {
		return err
	}
	// Checked here too, so bad input never reaches the cluster.
	if _, _, err := req.Resolve(st.Topology()); err != nil {
		return usageError(err)
	}
	if req.Lease != "" {
		return injectHeld(c, e, st, req, asJSON)
	}
	v, err := clusterctl.NewClient(st).Apply(c.Context, req)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e.stdout, faultsJSON([]clusterctl.FaultView{v})[0])
	}
	if v.EndReason == clusterctl.EndDone {
		fmt.Fprintf(e.stdout, "applied %s: %s; nothing to revert (the cluster is expected to detect and repair the damage)\n", v.Name, clusterctl.Describe(v.Fault))
		return nil
	}
	fmt.Fprintf(e.stdout, "applied %s: %s\n", v.Name, clusterctl.Describe(v.Fault))
	fmt.Fprintf(e.stdout, "expires %s (in %s); revert it earlier with: chaosctl heal %s\n",
		v.Expires.Local().Format("15:04:05"), v.TTL, v.Name)
	return nil
}

func heal(c *cli.Context, e *env) error {
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	all := c.Bool("all")
	switch {
	case all && c.NArg() > 0:
		return usageError(fmt.Errorf("heal takes a fault NAME or --all, not both"))
	case !all && c.NArg() == 0:
		return usageError(fmt.Errorf("heal needs a fault NAME (see chaosctl status) or --all"))
	case c.NArg() > 1:
		return usageError(fmt.Errorf("heal takes one fault NAME; got %q", c.Args().Slice()))
	}
	st, err := findCluster(c)
	if err != nil {
		return err
	}
	cc := clusterctl.NewClient(st)
	var out clusterctl.FaultsView
	if all {
		out, err = cc.HealAll(c.Context)
	} else {
		out, err = cc.Heal(c.Context, c.Args().First())
	}
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e.stdout, faultsViewJSON{Faults: faultsJSON(out.Faults)})
	}
	if len(out.Faults) == 0 {
		fmt.Fprintln(e.stdout, "no live faults; nothing to revert")
	}
	for _, v := range out.Faults {
		fmt.Fprintf(e.stdout, "reverted %s: %s (applied %s, %s before it expired)\n", v.Name, clusterctl.Describe(v.Fault),
			v.Applied.Local().Format("15:04:05"), v.Remaining)
	}
	return nil
}

func status(c *cli.Context, e *env) error {
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("status takes no arguments; got %q", c.Args().Slice()))
	}
	st, err := findCluster(c)
	if err != nil {
		return err
	}
	sv, err := clusterctl.NewClient(st).Status(c.Context)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e.stdout, statusJSON{Name: sv.Name, Members: sv.Members, Faults: faultsJSON(sv.Faults), Ended: faultsJSON(sv.Ended)})
	}
	w := e.stdout
	fmt.Fprintf(w, "cluster %s (pid %d, up %s)\n\n", sv.Name, st.PID, time.Since(st.Started).Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tADDRESS\tLISTEN\tPID\tSTATE")
	for _, m := range sv.Members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.Role, m.Addr, m.Listen, m.PID, m.State())
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	if len(sv.Faults) == 0 {
		fmt.Fprintln(w, "no live faults")
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FAULT\tKIND\tAPPLIED\tEXPIRES\tREMAINING\tLEASE\tWHAT")
		for _, v := range sv.Faults {
			what := clusterctl.Describe(v.Fault)
			if v.Error != "" {
				what += " (revert failed, retrying: " + v.Error + ")"
			}
			lease := "-"
			if v.Lease != "" {
				lease = v.Lease + " (" + v.LeaseRemaining + " left)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Kind, v.Applied.Local().Format("15:04:05"),
				v.Expires.Local().Format("15:04:05"), v.Remaining, lease, what)
		}
		_ = tw.Flush()
	}
	if len(sv.Ended) > 0 {
		fmt.Fprintln(w, "\nrecently ended:")
		for _, v := range sv.Ended {
			fmt.Fprintf(w, "  %s (%s) %s at %s\n", v.Name, v.Kind, v.EndReason, v.Ended.Local().Format("15:04:05"))
		}
	}
	return nil
}

// clusterFlags are the flags inject, heal and status use to find the cluster.
func clusterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "state", Usage: "the state file written by cluster up --state FILE (default: found in the state directory)"},
		&cli.StringFlag{Name: "state-dir", EnvVars: []string{injectors.EnvStateDir}, Usage: "the state directory where cluster up registers (default: the user's state directory)"},
		&cli.StringFlag{Name: "cluster", Usage: "the cluster's --name, when several run (default: the only one running)"},
	}
}

// findCluster returns the state of the cluster the command talks to.
func findCluster(c *cli.Context) (clusterctl.State, error) {
	return clusterctl.Find(clusterctl.FindOptions{StateFile: c.String("state"), StateDir: c.String("state-dir"), Name: c.String("cluster")})
}
