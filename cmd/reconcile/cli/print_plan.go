package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
	"sigs.k8s.io/yaml"
)

// printPlan renders a plan in the chosen format. Text is for people, json
// and yaml for scripts, markdown for pull-request comments.
func printPlan(w io.Writer, p *reconcile.Plan, format string) error {
	switch format {
	case "", "text":
		printPlanText(w, p)
	case "markdown", "md":
		printPlanMarkdown(w, p)
	case "json":
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\n", b)
	case "yaml":
		b, err := yaml.Marshal(p)
		if err != nil {
			return err
		}
		w.Write(b)
	default:
		return checkPlanFormat(format)
	}
	return nil
}

// checkPlanFormat rejects an unknown -o before any host is contacted.
func checkPlanFormat(format string) error {
	switch format {
	case "", "text", "markdown", "md", "json", "yaml":
		return nil
	}
	return flagErrorf("unknown output format %q: use text, json, yaml or markdown", format)
}

func planSource(p *reconcile.Plan) string {
	s := "cluster " + p.Cluster
	if p.Commit != "" {
		s += fmt.Sprintf(" from %s at %s", p.Repo, shortSHA(p.Commit))
	}
	return s
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

type planCounts struct{ create, del, net, nodes int }

func countPlan(p *reconcile.Plan) planCounts {
	var c planCounts
	for _, n := range p.Nodes {
		changed := false
		if n.Network != "" || n.RemoveNetwork {
			c.net++
			changed = true
		}
		for _, pc := range n.Pods {
			changed = true
			if pc.Action == reconcile.ActionCreate {
				c.create++
			} else {
				c.del++
			}
		}
		if len(n.Net) > 0 {
			c.net += len(n.Net)
			changed = true
		}
		if changed {
			c.nodes++
		}
	}
	return c
}

func (c planCounts) summary() string {
	return fmt.Sprintf("%d %s to create, %d to delete, %d network %s on %d %s",
		c.create, plural(c.create, "pod", "pods"), c.del, c.net, plural(c.net, "change", "changes"), c.nodes, plural(c.nodes, "node", "nodes"))
}

func netSymbol(action string) string {
	switch action {
	case "add", "create":
		return "+"
	case "delete":
		return "-"
	}
	return "~"
}

func podSymbol(a reconcile.ActionKind) string {
	if a == reconcile.ActionCreate {
		return "+"
	}
	return "-"
}

func netLine(c rnet.Change) string {
	s := c.Kind + " " + c.Target
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

func printPlanText(w io.Writer, p *reconcile.Plan) {
	fmt.Fprintf(w, "Plan for %s\n", planSource(p))
	if !p.HasChanges() && len(p.Unreachable) == 0 {
		fmt.Fprintln(w, "\nNo changes: the hosts match the manifests.")
		printClaimChanges(w, p)
		printForeign(w, p)
		return
	}
	for _, a := range p.Allocations {
		sym := "+"
		if a.Action == "free" {
			sym = "-"
		}
		fmt.Fprintf(w, "\nservice %s:\n  %s %s ClusterIP %s%s\n", a.Service, sym, a.Action, a.ClusterIP, nodePortsText(a.NodePorts))
	}
	if len(p.Config) > 0 {
		fmt.Fprintln(w)
	}
	for _, c := range p.Config {
		fmt.Fprintf(w, "~ %s on %s: %s\n", c.Object, strings.Join(c.Nodes, ", "), c.Summary)
	}
	printClaimChanges(w, p)
	for _, n := range p.Nodes {
		if n.Network == "" && !n.RemoveNetwork && len(n.Pods) == 0 && len(n.Net) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", n.Node)
		if n.Network != "" {
			fmt.Fprintf(w, "  + network reconcile-pods %s\n", n.Network)
		}
		for _, pc := range n.Pods {
			fmt.Fprintf(w, "  %s pod %s/%s (%s; %s)\n", podSymbol(pc.Action), pc.Namespace, pc.Pod, pc.Image, pc.Reason)
		}
		for _, c := range n.Net {
			fmt.Fprintf(w, "  %s %s\n", netSymbol(c.Action), netLine(c))
		}
		if n.RemoveNetwork { // last, as it is removed once the pods are gone
			fmt.Fprintln(w, "  - network reconcile-pods")
		}
	}
	for _, u := range p.Unreachable {
		fmt.Fprintf(w, "\n%s: UNREACHABLE: %s\n", u.Node, u.Detail())
	}
	fmt.Fprintf(w, "\nPlan: %s.\n", countPlan(p).summary())
	printForeign(w, p)
	if p.Refused != "" {
		fmt.Fprintf(w, "\nApply would refuse this plan: %s\n", p.Refused)
	}
}

// printClaimChanges lists the claim volumes made, kept (a claim removed
// from git: its data stays) and deleted (--prune-volumes).
func printClaimChanges(w io.Writer, p *reconcile.Plan) {
	if len(p.Claims) > 0 {
		fmt.Fprintln(w)
	}
	for _, c := range p.Claims {
		fmt.Fprintf(w, "%s %s\n", claimSymbol(c.Action), c.String())
	}
}

func claimSymbol(action string) string {
	switch action {
	case reconcile.ClaimCreate:
		return "+"
	case reconcile.ClaimDelete:
		return "-"
	}
	return "="
}

// printForeign lists other sources' pods: never changed, shown so that the
// user sees the cluster holds more than this source.
func printForeign(w io.Writer, p *reconcile.Plan) {
	if len(p.Foreign) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d %s of other sources, left alone:\n", len(p.Foreign), plural(len(p.Foreign), "pod", "pods"))
	for _, f := range p.Foreign {
		fmt.Fprintf(w, "  = %s: pod %s/%s (source %s)\n", f.Node, f.Namespace, f.Pod, f.Source)
	}
}

func nodePortsText(ports []int32) string {
	if len(ports) == 0 {
		return ""
	}
	var s []string
	for _, p := range ports {
		s = append(s, fmt.Sprint(p))
	}
	return ", nodePorts " + strings.Join(s, ",")
}

// printPlanMarkdown is ready to paste as a pull-request comment.
func printPlanMarkdown(w io.Writer, p *reconcile.Plan) {
	fmt.Fprintf(w, "### reconcile diff: %s\n\n", planSource(p))
	if !p.HasChanges() && len(p.Unreachable) == 0 {
		fmt.Fprintln(w, "No changes: the hosts match the manifests.")
		for _, c := range p.Claims { // kept volumes: no change, but data the tree no longer declares
			fmt.Fprintf(w, "\n- %s", mdEscape(c.String()))
		}
		if len(p.Claims) > 0 {
			fmt.Fprintln(w)
		}
		return
	}
	fmt.Fprintf(w, "**%s.**\n\n", strings.ToUpper(countPlan(p).summary()[:1])+countPlan(p).summary()[1:])
	fmt.Fprintln(w, "| Node | Change | Object | Detail |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, a := range p.Allocations {
		fmt.Fprintf(w, "| (cluster) | %s | service `%s` | ClusterIP %s%s |\n", a.Action, a.Service, a.ClusterIP, nodePortsText(a.NodePorts))
	}
	for _, c := range p.Config {
		fmt.Fprintf(w, "| %s | update | `%s` | %s |\n", strings.Join(c.Nodes, ", "), c.Object, c.Summary)
	}
	for _, c := range p.Claims {
		fmt.Fprintf(w, "| %s | %s | persistentvolumeclaim `%s/%s` | %s |\n", c.Node, c.Action, c.Namespace, c.Name, mdEscape(c.Detail))
	}
	for _, n := range p.Nodes {
		if n.Network != "" {
			fmt.Fprintf(w, "| %s | create | network `reconcile-pods` | %s |\n", n.Node, n.Network)
		}
		for _, pc := range n.Pods {
			fmt.Fprintf(w, "| %s | %s | pod `%s/%s` | %s; %s |\n", n.Node, pc.Action, pc.Namespace, pc.Pod, mdEscape(pc.Image), mdEscape(pc.Reason))
		}
		for _, c := range n.Net {
			fmt.Fprintf(w, "| %s | %s | %s `%s` | %s |\n", n.Node, c.Action, c.Kind, mdEscape(c.Target), mdEscape(c.Detail))
		}
		if n.RemoveNetwork {
			fmt.Fprintf(w, "| %s | delete | network `reconcile-pods` |  |\n", n.Node)
		}
	}
	for _, u := range p.Unreachable {
		fmt.Fprintf(w, "| %s | **unreachable** | | %s |\n", u.Node, mdEscape(u.Detail()))
	}
	if p.Refused != "" {
		fmt.Fprintf(w, "\n**Apply would refuse this plan:** %s\n", mdEscape(strings.SplitN(p.Refused, "\n", 2)[0]))
	}
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
