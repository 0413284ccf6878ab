package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// fetchSpecs are the cache's refspecs: every branch and tag of the remote
// under its own name, forced, so the cache mirrors them (a force-push
// moves a ref in the cache too). Each maps a name to itself.
var fetchSpecs = []config.RefSpec{
	"+refs/heads/*:refs/heads/*",
	"+refs/tags/*:refs/tags/*",
}

// maxHaveWalk bounds how far back from each of its tips the cache lists
// commits it has (see haves).
const maxHaveWalk = 100

// session is one upload-pack session with the remote and what the remote
// advertised on it. A Fetch lists the refs and, when the cache lacks the
// commit, asks for the pack on this same session: over SSH that is one
// connection where a listing and then go-git's Fetch (which opens its
// own session and lists again) were two, ~90 ms each on the lab.
type session struct {
	up   transport.UploadPackSession
	adv  *packp.AdvRefs
	refs memory.ReferenceStorage // adv's refs, HEAD as a symbolic ref when the server says its target
}

// openSession connects to the remote and reads its advertisement.
func (f *fetcher) openSession(ctx context.Context) (*session, error) {
	c, err := client.NewClient(f.ep)
	if err != nil {
		return nil, f.remoteError(err)
	}
	up, err := c.NewUploadPackSession(f.ep, f.auth)
	if err != nil {
		return nil, f.remoteError(err)
	}
	adv, err := up.AdvertisedReferencesContext(ctx)
	var refs memory.ReferenceStorage
	if err == nil {
		refs, err = adv.AllReferences()
	}
	if err != nil {
		_ = up.Close()
		return nil, f.remoteError(err)
	}
	return &session{up: up, adv: adv, refs: refs}, nil
}

// list is the advertised refs, by name.
func (s *session) list() []*plumbing.Reference {
	refs := make([]*plumbing.Reference, 0, len(s.refs))
	for _, r := range s.refs {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name() < refs[j].Name() })
	return refs
}

// close ends the session. Its error is not the fetch's: what the fetch
// uses (the advertisement, a pack) was read in full and checked by then.
func (s *session) close() { _ = s.up.Close() }

// endSession closes f's session, if it has one open.
func (f *fetcher) endSession() {
	if f.sess != nil {
		f.sess.close()
		f.sess = nil
	}
}

// fetchPack brings into repo the objects of the remote's branches and tags
// that it lacks, and sets its branches and tags to the advertised ones
// (forced, and those gone from the remote removed), as a fetch of
// fetchSpecs with --prune does. It uses f's session when that has not
// asked for a pack yet, else a new one: over SSH and file:// upload-pack
// ends after one pack. Only the damaged-cache retry and a fetch that
// waited for the lock open a second session.
func (f *fetcher) fetchPack(ctx context.Context, repo *git.Repository) error {
	s := f.sess
	f.sess = nil
	if s == nil {
		var err error
		if s, err = f.openSession(ctx); err != nil {
			return err
		}
	}
	defer s.close()
	err := s.fetchInto(ctx, repo.Storer)
	switch {
	case err == nil:
		return nil
	case isRemoteError(err):
		return f.remoteError(err)
	}
	return fmt.Errorf("git: fetch %s: %w", f.url, err)
}

// fetchInto is fetchPack on this session, into the cache's storage.
func (s *session) fetchInto(ctx context.Context, st storage.Storer) error {
	local, err := localRefs(st)
	if err != nil {
		return err
	}
	if wants := s.wants(st); len(wants) > 0 {
		req := packp.NewUploadPackRequestFromCapabilities(s.adv.Capabilities)
		if s.adv.Capabilities.Supports(capability.NoProgress) {
			// Nothing reads the progress lines; Options.Log says "fetching".
			if err := req.Capabilities.Set(capability.NoProgress); err != nil {
				return err
			}
		}
		req.Wants = wants
		req.Haves = s.haves(st, local)
		if err := s.readPack(ctx, req, st); err != nil {
			return err
		}
	}
	return s.updateRefs(st, local)
}

// readPack sends the request and stores the pack the server answers with.
func (s *session) readPack(ctx context.Context, req *packp.UploadPackRequest, st storage.Storer) (err error) {
	resp, err := s.up.UploadPack(ctx, req)
	if errors.Is(err, transport.ErrEmptyUploadPackRequest) {
		return nil // the server had nothing to send
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := resp.Close(); err == nil {
			err = cerr
		}
	}()
	var pack io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	return packfile.UpdateObjectStorage(st, pack)
}

// mirrored reports whether fetchSpecs take the ref name.
func mirrored(name plumbing.ReferenceName) bool {
	for _, spec := range fetchSpecs {
		if spec.Match(name) {
			return true
		}
	}
	return false
}

// wants are the advertised branch and tag tips whose objects the cache
// lacks, sorted. A have-check error counts as lacking: asking again for an
// object the cache has costs bytes, not asking for one it cannot read
// leaves it broken.
func (s *session) wants(st storer.EncodedObjectStorer) []plumbing.Hash {
	set := map[plumbing.Hash]bool{}
	for name, ref := range s.refs {
		if ref.Type() == plumbing.HashReference && mirrored(name) && st.HasEncodedObject(ref.Hash()) != nil {
			set[ref.Hash()] = true
		}
	}
	return sortedHashes(set)
}

// haves are what the cache tells the server it has, so the pack leaves
// out what those reach: each of its tips whose object it can read and,
// for a commit, up to maxHaveWalk of its ancestors, stopping at one the
// remote advertises. The ancestors matter when a branch was force-pushed:
// the server no longer knows the cache's old tip, but knows its history.
// A tip the cache cannot read (a damaged pack) is left out, so the pack
// brings its objects again.
func (s *session) haves(st storer.EncodedObjectStorer, local []*plumbing.Reference) []plumbing.Hash {
	advertised := map[plumbing.Hash]bool{}
	for _, ref := range s.refs {
		if ref.Type() == plumbing.HashReference {
			advertised[ref.Hash()] = true
		}
	}
	have := map[plumbing.Hash]bool{}
	for _, ref := range local {
		if ref.Type() != plumbing.HashReference || have[ref.Hash()] {
			continue
		}
		c, err := object.GetCommit(st, ref.Hash())
		if err != nil {
			if _, err := st.EncodedObject(plumbing.AnyObject, ref.Hash()); err == nil {
				have[ref.Hash()] = true // an annotated tag
			}
			continue
		}
		n := 0
		// An error ends the walk (a parent the cache lacks); what it
		// listed so far is still had.
		_ = object.NewCommitPreorderIter(c, have, nil).ForEach(func(c *object.Commit) error {
			have[c.Hash] = true
			n++
			if n == maxHaveWalk || advertised[c.Hash] {
				return storer.ErrStop
			}
			return nil
		})
	}
	return sortedHashes(have)
}

// updateRefs sets the cache's branches and tags to the advertised ones:
// each that differs is set (forced), each the remote no longer has is
// removed. The pack is stored first, so no ref names a missing object.
func (s *session) updateRefs(st storer.ReferenceStorer, local []*plumbing.Reference) error {
	for _, ref := range local {
		if !mirrored(ref.Name()) {
			continue
		}
		if _, ok := s.refs[ref.Name()]; !ok {
			if err := st.RemoveReference(ref.Name()); err != nil {
				return fmt.Errorf("remove ref %s: %w", ref.Name(), err)
			}
		}
	}
	have := map[plumbing.ReferenceName]plumbing.Hash{}
	for _, ref := range local {
		if ref.Type() == plumbing.HashReference {
			have[ref.Name()] = ref.Hash()
		}
	}
	for name, ref := range s.refs {
		if ref.Type() != plumbing.HashReference || !mirrored(name) {
			continue
		}
		if h, ok := have[name]; ok && h == ref.Hash() {
			continue
		}
		if err := st.SetReference(plumbing.NewHashReference(name, ref.Hash())); err != nil {
			return fmt.Errorf("set ref %s: %w", name, err)
		}
	}
	return nil
}

func localRefs(st storer.ReferenceStorer) ([]*plumbing.Reference, error) {
	iter, err := st.IterReferences()
	if err != nil {
		return nil, err
	}
	var refs []*plumbing.Reference
	err = iter.ForEach(func(r *plumbing.Reference) error {
		refs = append(refs, r)
		return nil
	})
	return refs, err
}

func sortedHashes(set map[plumbing.Hash]bool) []plumbing.Hash {
	hs := make([]plumbing.Hash, 0, len(set))
	for h := range set {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].String() < hs[j].String() })
	return hs
}
