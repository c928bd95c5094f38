package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/targets/clusterctl"
)

// Bounds of `inject --hold`'s calls to the cluster: a heal reverts the
// fault (a crash's restart waits for the members), and a fault that ended
// by itself may take as long to be reverted before it is listed as ended.
const (
	holdHealTimeout = 70 * time.Second
	holdEndWait     = 70 * time.Second
	holdEndPoll     = 100 * time.Millisecond
)

// injectHeld is `inject --hold`: it applies req, which carries a lease,
// then renews the lease every third of it until a stop signal (it heals
// the fault and exits 3) or the fault ends by itself (its TTL: exit 0;
// healed by someone else: exit 0; its lease lapsed or the cluster stopped:
// exit 5). Killed, it renews nothing more and cluster up reverts the fault
// within the lease.
func injectHeld(c *cli.Context, e *env, st clusterctl.State, req clusterctl.Request, asJSON bool) error {
	lease, err := time.ParseDuration(req.Lease)
	if err != nil {
		return usageError(fmt.Errorf("--lease: %w", err))
	}
	// Signals first: one that comes while the fault is being applied must
	// heal it, not kill inject with the fault applied.
	ctx, stop := cancelOnSignal(c.Context, e,
		"interrupted: healing the held fault, then exiting (code 3)",
		"still healing the held fault; inject exits once it is reverted")
	defer stop()
	cc := clusterctl.NewClient(st)
	// Applied whatever comes meanwhile (the cluster applies it anyway): a
	// signal then heals it at once.
	v, err := cc.Apply(context.WithoutCancel(ctx), req)
	if err != nil {
		return err
	}
	// Text goes to stderr when stdout is the applied fault as JSON.
	text := e.stdout
	if asJSON {
		if err := printJSON(e.stdout, faultsJSON([]clusterctl.FaultView{v})[0]); err != nil {
			return err
		}
		text = e.stderr
	}
	fmt.Fprintf(text, "applied %s: %s\n", v.Name, clusterctl.Describe(v.Fault))
	fmt.Fprintf(text, "holding it on a %s lease, renewed every %s, until Ctrl-C (which heals it) or its TTL at %s (in %s)\n",
		lease, (lease / 3).Round(time.Millisecond), v.Expires.Local().Format("15:04:05"), v.TTL)
	return holdFault(ctx, e, text, cc, v.Name, lease)
}

// holdFault renews the lease of the held fault name every lease/3 until
// ctx ends (then it heals the fault) or the fault ends by itself.
func holdFault(ctx context.Context, e *env, text io.Writer, cc *clusterctl.Client, name string, lease time.Duration) error {
	t := time.NewTicker(lease / 3)
	defer t.Stop()
	lastRenewed, failing := time.Now(), false
	for {
		select {
		case <-ctx.Done():
			return healHeld(e, text, cc, name, lease)
		case <-t.C:
		}
		// A renewal that takes half the lease is as good as lost (but a
		// loaded machine gets a second to answer a short one).
		rctx, cancel := context.WithTimeout(ctx, max(lease/2, time.Second))
		_, err := cc.Renew(rctx, name)
		cancel()
		switch {
		case err == nil:
			lastRenewed = time.Now()
			if failing {
				failing = false
				e.log.WithField("fault", name).Info("the lease is renewed again")
			}
		case ctx.Err() != nil:
			// Interrupted meanwhile: the next turn heals.
		case clusterctl.IsInputError(err):
			// The cluster no longer holds it: it ended by itself.
			return heldEnded(ctx, text, cc, name, lease)
		default:
			if !failing {
				failing = true
				e.log.WithError(err).WithField("fault", name).Warn("renewing the lease failed; retrying (cluster up reverts the fault if the lease lapses)")
			}
			if since := time.Since(lastRenewed); since > lease {
				return withCode(exitEnvironment, fmt.Errorf("the lease of %s was not renewed for %s, more than its %s: cluster up reverts the fault (if it still runs): %w",
					name, since.Round(time.Millisecond), lease, err))
			}
		}
	}
}

// healHeld heals the held fault name after a stop signal: exit 3, or 5
// when the heal failed (the fault then lapses within its lease, no longer
// renewed).
func healHeld(e *env, text io.Writer, cc *clusterctl.Client, name string, lease time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), holdHealTimeout)
	defer cancel()
	out, err := cc.Heal(ctx, name)
	switch {
	case err == nil:
		for _, v := range out.Faults {
			fmt.Fprintf(text, "reverted %s: %s (applied %s, %s before it expired)\n", v.Name, clusterctl.Describe(v.Fault),
				v.Applied.Local().Format("15:04:05"), v.Remaining)
		}
	case clusterctl.IsInputError(err):
		// Ended by itself meanwhile.
		fmt.Fprintf(text, "%s had already ended\n", name)
	default:
		return withCode(exitEnvironment, fmt.Errorf("heal %s: %w; no longer renewed, it reverts by itself within its %s lease (if cluster up still runs)", name, err, lease))
	}
	return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted; %s was healed", name), reported: true}
}

// heldEnded says why the held fault name ended without inject healing it:
// its TTL or someone's heal (exit 0), its lease lapsing or cluster up
// stopping (exit 5: it did not last as asked).
func heldEnded(ctx context.Context, text io.Writer, cc *clusterctl.Client, name string, lease time.Duration) error {
	// A fault whose lease or TTL ran out is listed as live until reverted.
	ctx, cancel := context.WithTimeout(ctx, holdEndWait)
	defer cancel()
	for {
		fl, err := cc.Faults(ctx)
		if err != nil {
			return withCode(exitEnvironment, fmt.Errorf("%s is no longer held, and the cluster does not say why: %w", name, err))
		}
		live := false
		for _, v := range fl.Faults {
			live = live || v.Name == name
		}
		var ended *clusterctl.FaultView
		for i := range fl.Ended {
			if fl.Ended[i].Name == name {
				ended = &fl.Ended[i]
			}
		}
		switch {
		case live:
		case ended == nil:
			return withCode(exitEnvironment, fmt.Errorf("%s is no longer live", name))
		case ended.EndReason == clusterctl.EndExpired:
			fmt.Fprintf(text, "%s reached its TTL %s and was reverted\n", name, ended.TTL)
			return nil
		case ended.EndReason == clusterctl.EndHealed:
			fmt.Fprintf(text, "%s was healed (chaosctl heal or halt); nothing left to hold\n", name)
			return nil
		case ended.EndReason == clusterctl.EndLapsed:
			return withCode(exitEnvironment, fmt.Errorf("the lease of %s lapsed before inject renewed it (within %s): cluster up reverted the fault; a longer --lease rides out a busier machine", name, lease))
		default:
			return withCode(exitEnvironment, fmt.Errorf("%s ended (%s) while held: cluster up stopped and reverted it", name, ended.EndReason))
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return withCode(exitEnvironment, fmt.Errorf("%s is no longer held, and was still being reverted %s later", name, holdEndWait))
			}
			return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted while %s was being reverted by cluster up", name)}
		case <-time.After(holdEndPoll):
		}
	}
}
