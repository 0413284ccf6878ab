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

// percent returns N for a "N%" string value.
func (v IntOrString) percent() (int, bool) {
	if !v.IsString || len(v.StrVal) < 2 || v.StrVal[len(v.StrVal)-1] != '%' {
		return 0, false
	}
	n, err := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// scaled resolves an int-or-percent against total the way Kubernetes does,
// rounding a percentage up or down. ok is false for anything else.
func (v IntOrString) scaled(total int, roundUp bool) (n int, ok bool) {
	if !v.IsString {
		return int(v.IntVal), true
	}
	p, ok := v.percent()
	if !ok {
		return 0, false
	}
	n = p * total / 100
	if roundUp && p*total%100 != 0 {
		n++
	}
	return n, true
}
