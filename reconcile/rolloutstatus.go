package reconcile

import (
	"context"
	"fmt"
	"io"
	"time"
)

// RolloutStatusMessage is kubectl rollout status's line for a Deployment
// in st (its DeploymentStatusViewer, word for word), and whether the
// rollout is complete.
func RolloutStatusMessage(st DeploymentStatus) (string, bool) {
	total := st.Updated + st.Old
	switch {
	case st.Updated < st.Replicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...", st.Name, st.Updated, st.Replicas), false
	case total > st.Updated:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...", st.Name, total-st.Updated), false
	case st.Ready < st.Updated:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...", st.Name, st.Ready, st.Updated), false
	}
	return fmt.Sprintf("deployment %q successfully rolled out", st.Name), true
}

// WaitRolloutOptions tune WaitRollout.
type WaitRolloutOptions struct {
	PollInterval time.Duration    // default 1s
	Now          func() time.Time // for tests
}

// WaitRollout watches the pods of Deployment namespace/name on the hosts
// until they all run its declared template and are ready, printing
// kubectl's message to out each time it changes. It reads only. A rollout
// whose counts do not move for the Deployment's progressDeadlineSeconds is
// reported as kubectl reports it (a *RolloutError); so is ctx ending.
func WaitRollout(ctx context.Context, d *Desired, hosts map[string]Host, namespace, name string, out io.Writer, o WaitRolloutOptions) error {
	if err := d.RequireCluster(); err != nil {
		return err
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	idx := -1
	for i, dep := range d.Deployments {
		if dep.Namespace == namespace && dep.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		return &NotFoundError{msg: fmt.Sprintf("deployment %s/%s is not declared in the manifests", namespace, name)}
	}
	dep := d.Deployments[idx]
	fail := func(why, msg string) error {
		return &RolloutError{Failures: []RolloutFailure{{Namespace: namespace, Deployment: name, Reason: why}}, msg: msg}
	}
	timedOut := func() error {
		return fail("timed out", fmt.Sprintf("deployment %q: timed out waiting for the condition", name))
	}
	last, since := "", o.Now()
	for {
		obs, _ := ownPods(observe(ctx, hosts, nil), d.Source)
		if ctx.Err() != nil {
			return timedOut()
		}
		_, statuses := Step(d.Deployments[idx:idx+1], d.Cluster, obs, false, true)
		msg, done := RolloutStatusMessage(statuses[0])
		if msg != last {
			fmt.Fprintln(out, msg)
			last, since = msg, o.Now()
		}
		if done {
			return nil
		}
		if o.Now().Sub(since) >= dep.ProgressDeadline() {
			return fail("progress deadline exceeded", fmt.Sprintf("deployment %q exceeded its progress deadline", name))
		}
		select {
		case <-ctx.Done():
			return timedOut()
		case <-time.After(o.PollInterval):
		}
	}
}
