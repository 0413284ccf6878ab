package gen

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// CheckFields reports how the struct types under v have changed from
// fields, the json tags ("name,omitempty") of each type's fields by type
// name: a hand-written encoder writes exactly those, and knows no
// MarshalJSON or embedded struct, so a field added, renamed or re-tagged,
// or a type that marshals itself, must be taken to its encoder (and to the
// generator that feeds its fuzz test) before the test passes again.
func CheckFields(v any, fields map[string][]string) error {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type) error
	walk = func(t reflect.Type) error {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if seen[t] {
			return nil
		}
		seen[t] = true
		for _, i := range []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[encoding.TextMarshaler]()} {
			if t.Implements(i) || reflect.PointerTo(t).Implements(i) {
				return fmt.Errorf("%s implements %s", t, i)
			}
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		want, ok := fields[t.Name()]
		if !ok {
			return fmt.Errorf("struct %s is not in the list", t)
		}
		var got []string
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				return fmt.Errorf("%s embeds %s", t, f.Type)
			}
			got = append(got, f.Tag.Get("json"))
			if err := walk(f.Type); err != nil {
				return err
			}
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s has fields tagged %q, the encoder writes %q", t, got, want)
		}
		return nil
	}
	if err := walk(reflect.TypeOf(v)); err != nil {
		return err
	}
	if len(seen) == 0 {
		return fmt.Errorf("no types under %T", v)
	}
	return nil
}
