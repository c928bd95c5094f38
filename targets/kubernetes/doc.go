// Package kubernetes is the kubernetes runtime: through client-go it deploys
// the demo cluster to a namespace of the run's own (one pod per member,
// named after it, a headless Service, a Secret with the control token, and a
// fault-plane pod running `chaosctl proxy` through whose toxiproxy every
// link passes), drives membership faults through the API (crash deletes a
// pod with zero grace, isolate applies a deny-all NetworkPolicy, pause holds
// the member's links in the fault plane because Kubernetes cannot freeze a
// container), and finds and removes what a run left by its io.chaosctl.run
// label and nothing else (Leftovers, RemoveRun).
//
// Blast radius: chaosctl creates and deletes only objects it labelled, acts
// in an existing namespace only when the experiment allows it, and never in
// kube-system, kube-public or kube-node-lease.
//
// Pods use imagePullPolicy Never: chaosctl's FROM-scratch image must be on
// the nodes (`chaosctl image export FILE`, then `ctr -n k8s.io images import
// FILE`, `kind load image-archive FILE` or `docker load`). chaosctl talks to
// members and the fault plane at their pod IPs, so it runs on a node or in a
// pod of the cluster.
//
//	d, err := kubernetes.StartDemo(ctx, spec, kubernetes.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: "r1", Log: log}, Image: ref})
//	defer d.Close(ctx)
//	err = d.Kill(ctx, "n2")     // pod deleted, grace 0
//	err = d.Isolate(ctx, "n3")  // NetworkPolicy: no ingress, no egress
package kubernetes
