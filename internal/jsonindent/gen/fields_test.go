package gen

import (
	"testing"
	"time"
)

type (
	inner struct {
		N int `json:"n"`
	}
	outer struct {
		A string            `json:"a,omitempty"`
		I []inner           `json:"i"`
		M map[string]*inner `json:"m"`
	}
	embeds struct {
		inner
	}
	marshals struct {
		T time.Time `json:"t"`
	}
)

func TestCheckFields(t *testing.T) {
	ok := map[string][]string{"outer": {"a,omitempty", "i", "m"}, "inner": {"n"}}
	for _, c := range []struct {
		name   string
		v      any
		fields map[string][]string
		fails  bool
	}{
		{"as listed", outer{}, ok, false},
		{"a tag changed", outer{}, map[string][]string{"outer": {"a", "i", "m"}, "inner": {"n"}}, true},
		{"a field more", outer{}, map[string][]string{"outer": {"a,omitempty", "i"}, "inner": {"n"}}, true},
		{"a type not listed", outer{}, map[string][]string{"outer": {"a,omitempty", "i", "m"}}, true},
		{"embedded", embeds{}, map[string][]string{"embeds": {""}, "inner": {"n"}}, true},
		{"MarshalJSON below", marshals{}, map[string][]string{"marshals": {"t"}}, true},
	} {
		if err := CheckFields(c.v, c.fields); (err != nil) != c.fails {
			t.Errorf("%s: CheckFields = %v", c.name, err)
		}
	}
}
