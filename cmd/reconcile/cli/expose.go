package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/resources"
)

type exposeOptions struct {
	ios        *IOStreams
	source     sourceFlags
	namespace  string
	name       string
	port       int32
	targetPort int32
	protocol   string
}

func newExposeCmd(ios *IOStreams) *cobra.Command {
	o := &exposeOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "expose deployment/NAME",
		Short: "Print the Service manifest that `kubectl expose` would create for a Deployment",
		Long: `Print the Service that exposes a Deployment, as kubectl expose would create it.
Commit the output to the repository to create the Service; reconcile never
creates objects that git does not declare.`,
		Example: `  reconcile expose deployment/my-nginx -f examples/nginx > examples/nginx/nginx-svc.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name, ok := strings.Cut(args[0], "/")
			if !ok || !isDeploymentKind(kind) || name == "" {
				return flagErrorf("expose takes deployment/NAME, got %q", args[0])
			}
			d, err := loadDesired(cmd.Context(), o.ios, &o.source)
			if err != nil {
				return err
			}
			dep := findDeployment(d.Deployments, o.namespace, name)
			if dep == nil {
				return fmt.Errorf("deployment %q not found in namespace %q", name, o.namespace)
			}
			svc, err := resources.Expose(dep, resources.ExposeOptions{Name: o.name, Port: o.port, TargetPort: o.targetPort, Protocol: o.protocol})
			if err != nil {
				return err
			}
			out, err := resources.RenderService(svc)
			if err != nil {
				return err
			}
			_, err = o.ios.Out.Write(out)
			return err
		},
	}
	o.source.registerStandalone(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the Deployment")
	cmd.Flags().StringVar(&o.name, "name", "", "name of the Service (default: the Deployment's)")
	cmd.Flags().Int32Var(&o.port, "port", 0, "port the Service serves on (default: the first containerPort)")
	cmd.Flags().Int32Var(&o.targetPort, "target-port", 0, "container port to direct traffic to (default: --port)")
	cmd.Flags().StringVar(&o.protocol, "protocol", "", "TCP or UDP (default TCP)")
	return cmd
}

func isDeploymentKind(k string) bool {
	switch strings.ToLower(k) {
	case "deployment", "deployments", "deploy", "deployment.apps":
		return true
	}
	return false
}

func findDeployment(ds []*resources.Deployment, ns, name string) *resources.Deployment {
	for _, d := range ds {
		if d.Name == name && d.Namespace == ns {
			return d
		}
	}
	return nil
}
