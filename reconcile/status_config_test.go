package reconcile

import (
	"context"
	"testing"
	"time"
)

// get cm/secrets/ns read what the manifests declare, with the live state.
func TestReadStatusConfigObjects(t *testing.T) {
	hosts, _ := fakeHosts()
	d := loadDesired(t, deployment("web", "nginx", 1, ""),
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf}\ndata: {a: b}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: web}\nstringData: {k: v}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := ReadStatus(ctx, d, hosts, map[string]error{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ConfigMaps) != 1 || st.ConfigMaps[0].Name != "conf" || len(st.Secrets) != 1 || st.Secrets[0].Namespace != "web" ||
		len(st.Namespaces) != 1 || st.Namespaces[0].Name != "web" {
		t.Errorf("status config objects: %+v %+v %+v", st.ConfigMaps, st.Secrets, st.Namespaces)
	}
}
