package resources

import "strings"

func replaceFile(s, file string) string { return strings.ReplaceAll(s, "FILE", file) }

func replaceAll(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
