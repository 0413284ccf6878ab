package resources

import (
	"reflect"
	"testing"
)

func TestValidatePVCSpec(t *testing.T) {
	q := func(s string) map[string]Quantity { return map[string]Quantity{"storage": {Raw: s}} }
	fs, blk := "Filesystem", "Block"
	for _, tc := range []struct {
		name string
		spec PVCSpec
		want []string // field: message
	}{
		{"ok", PVCSpec{AccessModes: []string{"ReadWriteOnce"}, Resources: PVCResources{q("1Gi")}, VolumeMode: &fs}, nil},
		{"no modes", PVCSpec{Resources: PVCResources{q("1Gi")}}, []string{"spec.accessModes: at least 1 access mode is required"}},
		{"rwx", PVCSpec{AccessModes: []string{"ReadWriteMany"}, Resources: PVCResources{q("1Gi")}},
			[]string{"spec.accessModes[0]: ReadWriteMany is not supported: a local volume lives on one node"}},
		{"bad mode", PVCSpec{AccessModes: []string{"RWO"}, Resources: PVCResources{q("1Gi")}},
			[]string{`spec.accessModes[0]: unsupported value "RWO": supported values: "ReadWriteOnce", "ReadOnlyMany", "ReadWriteOncePod"`}},
		{"dup", PVCSpec{AccessModes: []string{"ReadWriteOnce", "ReadWriteOnce"}, Resources: PVCResources{q("1Gi")}},
			[]string{`spec.accessModes[1]: duplicate value "ReadWriteOnce"`}},
		{"oncepod mixed", PVCSpec{AccessModes: []string{"ReadWriteOncePod", "ReadOnlyMany"}, Resources: PVCResources{q("1Gi")}},
			[]string{"spec.accessModes: may not use ReadWriteOncePod with other access modes"}},
		{"block", PVCSpec{AccessModes: []string{"ReadWriteOnce"}, Resources: PVCResources{q("1Gi")}, VolumeMode: &blk},
			[]string{`spec.volumeMode: unsupported value "Block": supported values: "Filesystem"`}},
		{"no storage", PVCSpec{AccessModes: []string{"ReadWriteOnce"}}, []string{"spec.resources.requests.storage: Required value"}},
		{"zero", PVCSpec{AccessModes: []string{"ReadWriteOnce"}, Resources: PVCResources{q("0")}},
			[]string{"spec.resources.requests.storage: must be greater than 0, not 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &reporter{}
			validatePVCSpec(r.object(Source{File: "pvc.yaml"}, "PersistentVolumeClaim", "data"), "spec", &tc.spec)
			var got []string
			for _, e := range r.errs {
				got = append(got, e.Field+": "+e.Message)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("bad quantity", func(t *testing.T) {
		r := &reporter{}
		validatePVCSpec(r.object(Source{File: "pvc.yaml"}, "PersistentVolumeClaim", "data"), "spec",
			&PVCSpec{AccessModes: []string{"ReadWriteOnce"}, Resources: PVCResources{q("1Gx")}})
		if len(r.errs) != 1 || r.errs[0].Field != "spec.resources.requests.storage" {
			t.Errorf("got %v, want one error on spec.resources.requests.storage", r.errs)
		}
	})
}

func TestDeploymentRecreates(t *testing.T) {
	claim := func(modes ...string) *PersistentVolumeClaim {
		return &PersistentVolumeClaim{Spec: PVCSpec{AccessModes: modes}}
	}
	for _, tc := range []struct {
		name     string
		strategy string
		claims   []*PersistentVolumeClaim
		want     bool
	}{
		{"rolling, no claim", RollingUpdateStrategy, nil, false},
		{"recreate, no claim", RecreateStrategy, nil, true},
		{"rolling, RWO", RollingUpdateStrategy, []*PersistentVolumeClaim{claim(ReadWriteOnce)}, true},
		{"rolling, RWOP", RollingUpdateStrategy, []*PersistentVolumeClaim{claim(ReadWriteOncePod)}, true},
		{"rolling, ROX", RollingUpdateStrategy, []*PersistentVolumeClaim{claim(ReadOnlyMany)}, false},
		{"rolling, ROX and RWO", RollingUpdateStrategy, []*PersistentVolumeClaim{claim(ReadOnlyMany), claim(ReadWriteOnce, ReadOnlyMany)}, true},
	} {
		d := &Deployment{Spec: DeploymentSpec{Strategy: DeploymentStrategy{Type: tc.strategy}}, Claims: tc.claims}
		if got := d.Recreates(); got != tc.want {
			t.Errorf("%s: Recreates() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestClaimsOf(t *testing.T) {
	data := &PersistentVolumeClaim{ObjectMeta: ObjectMeta{Name: "data", Namespace: "default"}}
	other := &PersistentVolumeClaim{ObjectMeta: ObjectMeta{Name: "data", Namespace: "team"}}
	s := &Set{PersistentVolumeClaims: []*PersistentVolumeClaim{data, other}}
	vol := func(claim string) Volume {
		return Volume{Name: claim, VolumeSource: VolumeSource{PersistentVolumeClaim: &PVCVolumeSource{ClaimName: claim}}}
	}
	d := &Deployment{ObjectMeta: ObjectMeta{Name: "db", Namespace: "default"}}
	d.Spec.Template.Spec.Volumes = []Volume{{Name: "tmp", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}}, vol("gone"), vol("data")}
	if got := s.ClaimsOf(d); len(got) != 1 || got[0] != data {
		t.Errorf("ClaimsOf = %v, want only default/data (not team's, not the undeclared one)", got)
	}
}
