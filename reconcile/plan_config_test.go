package reconcile

import (
	"reflect"
	"testing"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/resources"
)

func TestConfigChanges(t *testing.T) {
	dep := &resources.Deployment{ObjectMeta: resources.ObjectMeta{Name: "web", Namespace: "default"}}
	dep.Spec.Template.Spec.Volumes = []resources.Volume{
		{Name: "tls", VolumeSource: resources.VolumeSource{Secret: &resources.SecretVolumeSource{SecretName: "tls"}}},
		{Name: "conf", VolumeSource: resources.VolumeSource{ConfigMap: &resources.ConfigMapVolumeSource{Name: "nginx-conf"}}},
		{Name: "both", VolumeSource: resources.VolumeSource{Projected: &resources.ProjectedVolumeSource{Sources: []resources.VolumeProjection{
			{ConfigMap: &resources.ConfigMapProjection{Name: "a"}}, {Secret: &resources.SecretProjection{Name: "b"}}}}}},
	}
	d := &Desired{Set: &resources.Set{Deployments: []*resources.Deployment{dep}}}
	vol := func(id, action string, files int, changed ...string) rnet.Change {
		c := rnet.Change{Kind: rnet.KindVolume, Action: action, Target: "/run/reconcile/volumes/lab/" + id, Detail: "what a person reads"}
		c.Volume = &rnet.VolumeDelta{Files: files, Changed: changed}
		return c
	}
	nodes := []NodePlan{
		{Node: "node-1", Net: []rnet.Change{
			vol("default.web.tls", rnet.ActionUpdate, 3, "tls.crt"),
			vol("default.web.conf", rnet.ActionAdd, 2), // a new pod's volume: no data change
			vol("default.web.both", rnet.ActionUpdate, 2, "a.conf", "b.key"),
			vol("default.gone.tls", rnet.ActionUpdate, 1, "x"), // no such Deployment
			{Kind: rnet.KindFile, Action: rnet.ActionUpdate, Target: "/var/lib/reconcile/endpoints.json", Detail: "3 files, 1 changed"},
		}},
		{Node: "node-2", Net: []rnet.Change{
			vol("default.web.tls", rnet.ActionUpdate, 3, "tls.key"), // another key on another node: both named
			vol("default.web.conf", rnet.ActionUpdate, 1, "nginx.conf"),
			vol("default.web.conf", rnet.ActionUpdate, 2), // nothing changed
		}},
	}
	want := []ConfigChange{
		{Object: "ConfigMap default/a + Secret default/b", Summary: "2 keys, 2 changed (a.conf, b.key)", Keys: 2, Changed: []string{"a.conf", "b.key"}, Nodes: []string{"node-1"}},
		{Object: "ConfigMap default/nginx-conf", Summary: "1 key, 1 changed (nginx.conf)", Keys: 1, Changed: []string{"nginx.conf"}, Nodes: []string{"node-2"}},
		{Object: "Secret default/tls", Summary: "3 keys, 2 changed (tls.crt, tls.key)", Keys: 3, Changed: []string{"tls.crt", "tls.key"}, Nodes: []string{"node-1", "node-2"}},
	}
	if got := configChanges(d, nodes); !reflect.DeepEqual(got, want) {
		t.Errorf("configChanges:\n got %+v\nwant %+v", got, want)
	}
}
