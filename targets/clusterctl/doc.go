// Package clusterctl is the library behind `chaosctl cluster up` and the
// commands that talk to it (inject, heal, status): a running demo cluster
// with a fault manager and a control API on a loopback port.
//
// The pieces, from the inside out:
//
//   - Request and Topology: an imperative fault as a caller asks for it,
//     checked against the cluster's members and fault-plane links and
//     resolved (a partition's groups turned into links) into the
//     injectors.Fault to apply, with its time to live.
//   - Manager: applies resolved faults through an injectors.Tracker (so the
//     ledger journals them) and reverts each at its expiry, retrying a failed
//     revert; a held fault (Request.Lease) reverts sooner, once its client
//     stops renewing its lease.
//   - Server: the control API over a Manager (GET /v1/status, GET, POST and
//     DELETE /v1/faults, DELETE /v1/faults/{name}, POST
//     /v1/faults/{name}/lease), behind a bearer token.
//   - Client: calls a running cluster's control API.
//   - State and Claim: the state file a running cluster registers in the
//     state directory (cluster/NAME.json, mode 0600) and the flock that says
//     the name is taken; Find locates the cluster a command talks to.
//   - Up: starts all of it (name claim, ledger, demo, manager, control API,
//     state file); Cluster.Close takes it down in the reverse order.
//
// The fault kinds a Request takes, and what each acts on (links, store
// nodes, nothing to revert), come from injectors.DefaultRegistry(), through
// which Up also applies them.
//
// Nothing here prints or exits: errors are returned, wrapped. An error caused
// by the caller's input (a bad fault request, a taken --name) is an
// *InputError, so a command can exit 2 for it and 5 for the rest.
//
// Use, as `chaosctl inject` does:
//
//	st, err := clusterctl.Find(clusterctl.FindOptions{StateDir: dir})
//	if err != nil { ... }
//	req := clusterctl.Request{Fault: injectors.Fault{Kind: injectors.KindPause, Targets: []string{"n1"}}, TTL: "30s"}
//	v, err := clusterctl.NewClient(st).Apply(ctx, req)
//	fmt.Println("applied", v.Name, "expires", v.Expires)
package clusterctl
