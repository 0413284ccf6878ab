package resources

import (
	"fmt"
	"go.yaml.in/yaml/v3"
	"sort"
	"strings"
	"unicode"
)

// FieldError is one problem found in a manifest, located as precisely as the
// YAML allows so the user can jump to it.
type FieldError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// More is set only on the last entry of a list cut at MaxErrors: how
	// many errors were found and not listed.
	More int `json:"more,omitempty"`
}

// Error formats the error as "file:line: Kind/name: field: message",
// leaving out the parts that are empty.
func (e *FieldError) Error() string {
	var parts []string
	if e.File != "" {
		loc := e.File
		if e.Line > 0 {
			loc += ":" + itoa(e.Line)
		}
		parts = append(parts, loc)
	}
	obj := e.Kind
	if e.Name != "" {
		if obj != "" {
			obj += "/"
		}
		obj += e.Name
	}
	if obj != "" {
		parts = append(parts, obj)
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, ": ")
}

// ErrorList is every problem found in a tree, sorted by file then line, so
// a user can fix them all in one pass.
type ErrorList []*FieldError

// Count is how many errors were found, the ones MaxErrors left out
// included.
func (l ErrorList) Count() int {
	n := len(l)
	if n > 0 && l[n-1].More > 0 {
		n += l[n-1].More - 1
	}
	return n
}

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders by file then line; the stable sort keeps the order
// in which checks ran for errors on the same line, which is deterministic.
func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].File != l[j].File {
			return l[i].File < l[j].File
		}
		return l[i].Line < l[j].Line
	})
}

// reporter collects errors and warnings while a tree is checked. It keeps
// at most maxKept of each and counts the rest, so a tree with a million
// problems costs no more memory than one with a thousand.
type reporter struct {
	errs  ErrorList
	warns ErrorList
	n     int // errors found, kept or not
	nw    int // warnings found, kept or not
	docs  int // YAML documents read, against MaxDocuments

	decryption Decryption          // how SOPS-encrypted files are read (decrypt.go)
	encrypted  map[*yaml.Node]bool // documents that came out of a SOPS file
	parsed     *parseCache         // files parsed by an earlier load (parsed_cache.go)
}

// maxKept errors (and warnings) are kept for sorting; MaxErrors of them
// are reported. Keeping more than are shown lets the sort by file and
// line pick the first ones even when checks report out of order.
const maxKept = 10 * MaxErrors

// maxMessage bounds one error message.
const maxMessage = 512

func (r *reporter) add(e *FieldError) {
	r.n++
	if len(r.errs) < maxKept {
		r.errs = append(r.errs, e)
	}
}

func (r *reporter) warn(e *FieldError) {
	r.nw++
	if len(r.warns) < maxKept {
		r.warns = append(r.warns, e)
	}
}

// merge adds o's findings to r, as if they had been reported to r.
func (r *reporter) merge(o *reporter) {
	for _, e := range o.errs {
		if len(r.errs) < maxKept {
			r.errs = append(r.errs, e)
		}
	}
	for _, w := range o.warns {
		if len(r.warns) < maxKept {
			r.warns = append(r.warns, w)
		}
	}
	r.n += o.n
	r.nw += o.nw
}

// obj is the context of one object being checked: where it came from and
// what it is called, so every finding can name it.
type obj struct {
	r    *reporter
	src  Source
	kind string
	name string
}

func (r *reporter) object(src Source, kind, name string) obj {
	return obj{r: r, src: src, kind: kind, name: name}
}

func (o obj) fieldError(field, msg string) *FieldError {
	// Names and values are quoted short where they are formatted; this
	// is the backstop for the ones that are not (a name, a path).
	msg, o.name = printable(msg), printable(o.name)
	return &FieldError{File: o.src.File, Line: o.src.lineOf(field), Kind: o.kind, Name: o.name, Field: field, Message: msg}
}

func (o obj) errorf(field, format string, args ...any) {
	o.r.add(o.fieldError(field, fmt.Sprintf(format, args...)))
}

func (o obj) warnf(field, format string, args ...any) {
	o.r.warn(o.fieldError(field, fmt.Sprintf(format, args...)))
}

// result turns the collected findings into Load's return values.
func (r *reporter) result() (warnings []string, err error) {
	sortErrors(r.warns)
	for i, w := range r.warns {
		if i == MaxErrors {
			warnings = append(warnings, fmt.Sprintf("and %d more warnings", r.nw-MaxErrors))
			break
		}
		warnings = append(warnings, w.Error())
	}
	if r.n == 0 {
		return warnings, nil
	}
	sortErrors(r.errs)
	if r.n > MaxErrors {
		errs := append(r.errs[:MaxErrors:MaxErrors], &FieldError{Message: fmt.Sprintf("and %d more errors", r.n-MaxErrors), More: r.n - MaxErrors})
		return warnings, errs
	}
	return warnings, r.errs
}

// printable cuts s to maxMessage bytes and escapes control characters, so
// that one finding is one line of plain text, whatever a document held.
func printable(s string) string {
	cut := len(s) > maxMessage
	if cut {
		s = strings.ToValidUTF8(s[:maxMessage], "")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	if cut {
		s += "..."
	}
	return s
}
