package gitsource

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// wanted is a ref resolved against what the remote advertises: either a
// named ref with the hash the remote gave for it, or a (possibly short) SHA.
type wanted struct {
	name  string        // "refs/heads/main", "refs/tags/v1", "HEAD"; "" for a SHA
	hash  plumbing.Hash // for a name: the advertised hash (may be an annotated tag)
	sha   string        // for a SHA: lowercase hex, 7 to 40 characters
	input string        // what the user asked for, for messages
	url   string
	refs  []*plumbing.Reference
}

// resolveRef picks the remote ref that ref names, in git's own order
// (refs/<ref>, refs/tags/<ref>, refs/heads/<ref>), and falls back to reading
// ref as a commit SHA.
func resolveRef(ref string, refs []*plumbing.Reference, url string) (wanted, error) {
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	w := wanted{input: ref, url: url, refs: refs}
	if ref == "" {
		head, ok := byName[plumbing.HEAD]
		if !ok {
			return w, keep(fmt.Errorf("git: %s has no default branch (HEAD); pass a ref%s", url, refList(refs)))
		}
		if head.Type() == plumbing.SymbolicReference {
			target, ok := byName[head.Target()]
			if !ok {
				return w, keep(fmt.Errorf("git: default branch %s of %s does not exist; pass a ref%s", head.Target(), url, refList(refs)))
			}
			head = target
		}
		w.name, w.hash = head.Name().String(), head.Hash()
		return w, nil
	}
	candidates := []string{"refs/" + ref, "refs/tags/" + ref, "refs/heads/" + ref}
	if strings.HasPrefix(ref, "refs/") {
		candidates = []string{ref}
	}
	for _, name := range candidates {
		if r, ok := byName[plumbing.ReferenceName(name)]; ok && r.Type() == plumbing.HashReference {
			w.name, w.hash = name, r.Hash()
			return w, nil
		}
	}
	if isSHA(ref) {
		w.sha = strings.ToLower(ref)
		return w, nil
	}
	return w, keep(fmt.Errorf("git: ref %q not found in %s%s", ref, url, refList(refs)))
}

func isSHA(s string) bool {
	if len(s) < 7 || len(s) > 40 {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// refList renders " (branches: a, b; tags: v1)" so a user sees what exists.
func refList(refs []*plumbing.Reference) string {
	var branches, tags []string
	for _, r := range refs {
		n := r.Name()
		switch {
		case n.IsBranch():
			branches = append(branches, n.Short())
		case n.IsTag() && !strings.HasSuffix(n.String(), "^{}"):
			tags = append(tags, n.Short())
		}
	}
	return fmt.Sprintf(" (branches: %s; tags: %s)", shortList(branches), shortList(tags))
}

func shortList(names []string) string {
	const max = 10
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	if len(names) > max {
		return fmt.Sprintf("%s, and %d more", strings.Join(names[:max], ", "), len(names)-max)
	}
	return strings.Join(names, ", ")
}

// errNotCached means the commit is not in the local clone yet: fetch.
var errNotCached = errors.New("not in cache")

// commit finds the wanted commit in the local clone.
func (w wanted) commit(repo *git.Repository) (*object.Commit, error) {
	if w.sha == "" {
		c, err := peel(repo, w.hash)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, fmt.Errorf("%w: %s", errNotCached, w.hash)
		}
		return c, err
	}
	if len(w.sha) == 40 {
		c, err := peel(repo, plumbing.NewHash(w.sha))
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, w.shaNotFound()
		}
		return c, err
	}
	var found []*object.Commit
	iter, err := repo.CommitObjects()
	if err != nil {
		return nil, err
	}
	err = iter.ForEach(func(c *object.Commit) error {
		if strings.HasPrefix(c.Hash.String(), w.sha) {
			found = append(found, c)
		}
		return nil
	})
	if err != nil && !errors.Is(err, storer.ErrStop) {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, w.shaNotFound()
	case 1:
		return found[0], nil
	}
	var hashes []string
	for _, c := range found {
		hashes = append(hashes, c.Hash.String())
	}
	sort.Strings(hashes)
	return nil, keep(fmt.Errorf("git: short commit %q is ambiguous in %s (%s); give more characters", w.input, w.url, strings.Join(hashes, ", ")))
}

func (w wanted) shaNotFound() error {
	return keep(fmt.Errorf("git: ref %q not found in %s%s; a commit SHA must be reachable from a branch or tag", w.input, w.url, refList(w.refs)))
}

func (w wanted) resolvedAs(c *object.Commit) string {
	if w.sha != "" {
		return c.Hash.String()
	}
	return w.name
}

// peel follows annotated tags down to the commit they point at.
func peel(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, keep(fmt.Errorf("git: %s is a %s, not a commit", h, obj.Type()))
		}
	}
	return nil, keep(fmt.Errorf("git: tag chain at %s is too deep", h))
}
