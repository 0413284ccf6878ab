package resources

import (
	"encoding/json"
	"strconv"
)

// IntOrString holds a port or a percentage that Kubernetes lets users write
// either as a number or as a string ("http", "25%").
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

func FromInt(i int32) IntOrString     { return IntOrString{IntVal: i} }
func FromString(s string) IntOrString { return IntOrString{IsString: true, StrVal: s} }

// IsZero reports whether the value was never set.
func (v IntOrString) IsZero() bool { return !v.IsString && v.IntVal == 0 }

func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return json.Marshal(v.StrVal)
	}
	return json.Marshal(v.IntVal)
}

func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsString = true
		return json.Unmarshal(b, &v.StrVal)
	}
	v.IsString = false
	return json.Unmarshal(b, &v.IntVal)
}

func itoa(i int) string { return strconv.Itoa(i) }
