package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// printNames is -o name: kubectl's kind[.group]/name, one a line.
func printNames(w io.Writer, items []any) error {
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		var o struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		res := strings.ToLower(o.Kind)
		if group, _, ok := strings.Cut(o.APIVersion, "/"); ok {
			res += "." + group
		}
		fmt.Fprintf(w, "%s/%s\n", res, o.Metadata.Name)
	}
	return nil
}
