package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
)

type validateOptions struct {
	ios    *IOStreams
	source sourceFlags
	output string
}

func newValidateCmd(ios *IOStreams) *cobra.Command {
	o := &validateOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the manifests without touching any host",
		Example: `  reconcile validate -f examples/nginx
  reconcile validate --repo ssh://git@example.com/ops/apps.git --ref main --path prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runValidate(cmd, o) },
	}
	o.source.registerStandalone(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json (problems as objects with file, line, kind, name, field)")
	return cmd
}

func runValidate(cmd *cobra.Command, o *validateOptions) error {
	switch o.output {
	case "json":
		return runValidateJSON(cmd, o)
	case "text", "":
	default:
		return flagErrorf("unknown output format %q: use text or json", o.output)
	}
	// validate needs no age key: without one, SOPS-encrypted files are
	// checked for structure, their values left unknown.
	o.source.SOPSWithoutKey = true
	d, err := loadDesired(cmd.Context(), o.ios, &o.source)
	if err != nil {
		return err
	}
	summary := fmt.Sprintf("%d %s, %d %s", len(d.Deployments), plural(len(d.Deployments), "Deployment", "Deployments"),
		len(d.Services), plural(len(d.Services), "Service", "Services"))
	if d.Cluster != nil {
		summary += fmt.Sprintf(", Cluster %s (%d %s)", d.Cluster.Name, len(d.Cluster.Spec.Nodes), plural(len(d.Cluster.Spec.Nodes), "node", "nodes"))
	}
	if d.Commit != "" {
		summary += " at commit " + d.Commit
	}
	fmt.Fprintf(o.ios.Out, "valid: %s\n", summary)
	return nil
}

// validateResult is validate -o json's shape.
type validateResult struct {
	Valid       bool                    `json:"valid"`
	Commit      string                  `json:"commit,omitempty"`
	Deployments []string                `json:"deployments"`
	Services    []string                `json:"services"`
	Cluster     string                  `json:"cluster,omitempty"`
	Nodes       int                     `json:"nodes,omitempty"`
	Warnings    []string                `json:"warnings,omitempty"`
	Errors      []*resources.FieldError `json:"errors,omitempty"`
}

func runValidateJSON(cmd *cobra.Command, o *validateOptions) error {
	o.source.SOPSWithoutKey = true
	src := o.source.options()
	d, err := reconcile.LoadDesired(cmd.Context(), src)
	res := validateResult{Valid: err == nil, Deployments: []string{}, Services: []string{}}
	var list resources.ErrorList
	switch {
	case errors.As(err, &list):
		res.Errors = list
	case errors.Is(err, reconcile.ErrNoSource):
		return &flagError{err}
	case err != nil:
		return err
	default:
		res.Commit, res.Warnings = d.Commit, d.Warnings
		for _, x := range d.Deployments {
			res.Deployments = append(res.Deployments, x.Namespace+"/"+x.Name)
		}
		for _, x := range d.Services {
			res.Services = append(res.Services, x.Namespace+"/"+x.Name)
		}
		if d.Cluster != nil {
			res.Cluster, res.Nodes = d.Cluster.Name, len(d.Cluster.Spec.Nodes)
		}
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintf(o.ios.Out, "%s\n", b)
	if !res.Valid {
		return silent(ExitInvalid)
	}
	return nil
}
