package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Leftovers lists, by run label (RunLabel), the namespaces, pods and network policies
// labelled io.chaosctl.run in the cluster (all namespaces but the protected
// ones). Nothing unlabelled is listed. Objects inside a listed namespace are
// not listed again.
func Leftovers(ctx context.Context, cs Client) (map[string][]string, error) {
	sel := metav1.ListOptions{LabelSelector: LabelRun}
	out := map[string][]string{}
	owned := map[string]bool{}
	nss, err := cs.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	for _, n := range nss.Items {
		owned[n.Name] = true
		out[n.Labels[LabelRun]] = append(out[n.Labels[LabelRun]], "namespace "+n.Name)
	}
	pods, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	for _, p := range pods.Items {
		if !owned[p.Namespace] && !slices.Contains(ProtectedNamespaces, p.Namespace) {
			out[p.Labels[LabelRun]] = append(out[p.Labels[LabelRun]], "pod "+p.Namespace+"/"+p.Name)
		}
	}
	pols, err := cs.NetworkingV1().NetworkPolicies(metav1.NamespaceAll).List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list network policies: %w", err)
	}
	for _, p := range pols.Items {
		if !owned[p.Namespace] && !slices.Contains(ProtectedNamespaces, p.Namespace) {
			out[p.Labels[LabelRun]] = append(out[p.Labels[LabelRun]], "networkpolicy "+p.Namespace+"/"+p.Name)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

// RemoveOptions tune RemoveRun.
type RemoveOptions struct {
	// Namespaces are where to look besides the namespaces labelled with the
	// run (an allowed namespace of the user's holding the run's objects).
	Namespaces []string
	// Wait bounds the wait until deleted namespaces are gone; 0 or less
	// does not wait.
	Wait time.Duration
}

// RemoveRun deletes what run left in the cluster, and only that: every
// network policy and pod labelled io.chaosctl.run=run (pods with zero
// grace), then every namespace labelled with the run. Protected namespaces
// are never touched. It returns what it deleted and is idempotent.
func RemoveRun(ctx context.Context, cs Client, run string, opts RemoveOptions) ([]string, error) {
	if run == "" {
		return nil, errors.New("remove run: empty run id")
	}
	label := RunLabel(run)
	sel := metav1.ListOptions{LabelSelector: LabelRun + "=" + label}
	nss, err := cs.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list namespaces of run %s: %w", run, err)
	}
	var owned []string
	for _, n := range nss.Items {
		if n.Labels[LabelRun] == label && !slices.Contains(ProtectedNamespaces, n.Name) {
			owned = append(owned, n.Name)
		}
	}
	where := []string{metav1.NamespaceAll}
	var removed []string
	var errs []error
	zero := int64(0)
	for _, ns := range where {
		pols, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, sel)
		if err != nil {
			errs = append(errs, fmt.Errorf("list network policies of run %s: %w", run, err))
		} else {
			for _, p := range pols.Items {
				if p.Labels[LabelRun] != label || slices.Contains(ProtectedNamespaces, p.Namespace) {
					continue
				}
				err := cs.NetworkingV1().NetworkPolicies(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("delete network policy %s/%s: %w", p.Namespace, p.Name, err))
					continue
				}
				removed = append(removed, "networkpolicy "+p.Namespace+"/"+p.Name)
			}
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			errs = append(errs, fmt.Errorf("list pods of run %s: %w", run, err))
			continue
		}
		for _, p := range pods.Items {
			if p.Labels[LabelRun] != label || slices.Contains(ProtectedNamespaces, p.Namespace) || p.DeletionTimestamp != nil && p.DeletionGracePeriodSeconds != nil && *p.DeletionGracePeriodSeconds == 0 {
				continue
			}
			err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err))
				continue
			}
			removed = append(removed, "pod "+p.Namespace+"/"+p.Name)
		}
	}
	// Objects of the run in a user's namespace other than pods and policies
	// (the demo's secret, service and claims in an allowed namespace).
	for _, ns := range opts.Namespaces {
		if ns == "" || slices.Contains(owned, ns) || slices.Contains(ProtectedNamespaces, ns) {
			continue
		}
		r, err := removeNamespacedObjects(ctx, cs, ns, sel)
		removed = append(removed, r...)
		errs = append(errs, err)
	}
	for _, ns := range owned {
		err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", ns, err))
			continue
		}
		removed = append(removed, "namespace "+ns)
	}
	if opts.Wait > 0 && len(owned) > 0 {
		errs = append(errs, waitNamespacesGone(ctx, cs, owned, opts.Wait))
	}
	return removed, errors.Join(errs...)
}

func removeNamespacedObjects(ctx context.Context, cs Client, ns string, sel metav1.ListOptions) ([]string, error) {
	var removed []string
	var errs []error
	if l, err := cs.CoreV1().Services(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			if err := cs.CoreV1().Services(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); err == nil || apierrors.IsNotFound(err) {
				removed = append(removed, "service "+ns+"/"+o.Name)
			} else {
				errs = append(errs, err)
			}
		}
	} else {
		errs = append(errs, err)
	}
	if l, err := cs.CoreV1().Secrets(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			if err := cs.CoreV1().Secrets(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); err == nil || apierrors.IsNotFound(err) {
				removed = append(removed, "secret "+ns+"/"+o.Name)
			} else {
				errs = append(errs, err)
			}
		}
	} else {
		errs = append(errs, err)
	}
	if l, err := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			if err := cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); err == nil || apierrors.IsNotFound(err) {
				removed = append(removed, "persistentvolumeclaim "+ns+"/"+o.Name)
			} else {
				errs = append(errs, err)
			}
		}
	} else {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("remove the run's objects from namespace %s: %w", ns, err)
	}
	return removed, nil
}

func waitNamespacesGone(ctx context.Context, cs Client, names []string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	pending := slices.Clone(names)
	for len(pending) > 0 {
		var still []string
		for _, ns := range pending {
			if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				still = append(still, ns)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespaces %v still terminating after %s: %w", pending, within, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
