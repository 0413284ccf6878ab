package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnsureBinary makes sure the host has a copy of the local file, whatever
// the host's architecture, and returns its path there (see EnsureAgent).
func (h *Host) EnsureBinary(ctx context.Context, localPath string) (string, error) {
	sum, err := fileSHA256(localPath)
	if err != nil {
		return "", fmt.Errorf("%s: copy agent binary: %w", h.Name, err)
	}
	remote, _, err := h.ensure(ctx, []agentCandidate{{machines: []string{"*"}, local: localPath, sum: sum}})
	return remote, err
}

// EnsureAgent reads the host's architecture and makes sure the host has a
// copy of the agent find returns for it; it returns the copy's path there
// and the host's GOARCH. Architecture and copy are checked in one round
// trip: the script gets every architecture's candidate and picks by
// `uname -m` on the host.
//
// Copies are named by content, so a host that already has this build costs
// one round trip, and pods that bind-mount an older copy keep it: old
// copies are never removed here.
//
// The copy runs as root, so a name is not trusted: that round trip hashes
// the file on the host and checks who can change it and its directory. A
// copy that differs or that others could have changed is replaced; a
// directory that others could change (a symlink on the way, or a parent
// that another user owns or may write to) is refused.
func (h *Host) EnsureAgent(ctx context.Context, find AgentFinder) (remote, arch string, err error) {
	return h.EnsureChecked(ctx, h.CheckAgent(ctx, find))
}

// AgentCheck is what CheckAgent found: the local candidates and the
// host's answer to the look for them.
type AgentCheck struct {
	cs  []agentCandidate
	st  remoteState
	err error
}

// Err is why the look failed, if it did.
func (c *AgentCheck) Err() error { return c.err }

// CheckAgent is EnsureAgent's read-only half: the local agents' hashes and
// the one round trip that looks for them on the host. It changes nothing
// there, so a run may do it before its manifests are loaded
// (reconcile.EarlyDial); EnsureChecked does the rest.
func (h *Host) CheckAgent(ctx context.Context, find AgentFinder) *AgentCheck {
	return h.check(ctx, candidates(find))
}

func (h *Host) check(ctx context.Context, cs []agentCandidate) *AgentCheck {
	out, err := h.run(ctx, nil, inspectScript(h.binDir, cs), "look for agent binary in "+h.binDir)
	if err != nil {
		return &AgentCheck{cs: cs, err: err}
	}
	st, err := parseInspect(out)
	if err != nil {
		err = fmt.Errorf("%s: look for agent binary in %s: %w", h.Name, h.binDir, err)
	}
	return &AgentCheck{cs: cs, st: st, err: err}
}

func (h *Host) ensure(ctx context.Context, cs []agentCandidate) (string, string, error) {
	return h.EnsureChecked(ctx, h.check(ctx, cs))
}

// EnsureChecked finishes EnsureAgent from what CheckAgent found on this
// host: it records the copy's hash, or copies the agent, as needed.
func (h *Host) EnsureChecked(ctx context.Context, chk *AgentCheck) (string, string, error) {
	if chk.err != nil {
		return "", "", chk.err
	}
	cs, st := chk.cs, chk.st
	c, err := pick(cs, h.Name, st.machine)
	if err != nil {
		return "", "", err
	}
	arch := c.arch
	if arch == "" {
		arch, _ = ArchOfMachine(st.machine)
	}
	if err := st.checkDir(h.binDir); err != nil {
		return "", "", fmt.Errorf("%s: agent binary directory %s: %w", h.Name, h.binDir, err)
	}
	remote := remoteAgentPath(h.binDir, c.sum)
	if st.installed(h.binDir, remote, c.sum) {
		if !st.cached && st.settled() {
			// Best effort: without the record the next run hashes again.
			_, _ = h.run(ctx, nil, recordScript(h.binDir, remote, st.key, c.sum), "record the hash of agent binary "+remote)
		}
		return remote, arch, nil
	}
	if err := h.copyAgent(ctx, c.local, remote, c.sum); err != nil {
		return "", "", err
	}
	return remote, arch, nil
}

// remoteAgentPath names a copy by its content.
func remoteAgentPath(dir, sum string) string { return path.Join(dir, "reconcile-"+sum[:12]) }

// copyAgent uploads localPath to remote.
func (h *Host) copyAgent(ctx context.Context, localPath, remote, sum string) error {
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("%s: copy agent binary: %w", h.Name, err)
	}
	defer f.Close()
	// The copy lands under a temporary name in the same directory and is
	// checked before the rename, which replaces whatever was at the path
	// (a wrong copy, a symlink) at once: a connection that drops mid-copy
	// gives cat an early EOF, and a truncated file must never sit at a
	// content-addressed path. The directory is root's alone (0700); the
	// file stays 0755 because pods bind-mount it and may run as any user.
	script := fmt.Sprintf(`set -e
mkdir -p -m 0700 %[1]s
test ! -L %[1]s
chmod 0700 %[1]s
t=%[2]s.tmp.$$
trap 'rm -f "$t"' EXIT
(umask 077; cat > "$t")
echo "%[3]s  $t" | sha256sum -c - >/dev/null
chmod 0755 "$t"
mv -f "$t" %[2]s`, shellQuote(h.binDir), shellQuote(remote), sum)
	_, err = h.run(ctx, f, script, "copy agent binary to "+remote)
	return err
}

// pathsTo lists dir and each of its parents, the root first.
func pathsTo(dir string) []string {
	dir = path.Clean(dir)
	var ps []string
	for p := dir; ; p = path.Dir(p) {
		ps = append(ps, p)
		if p == "/" || p == "." {
			break
		}
	}
	slices.Reverse(ps)
	return ps
}

// inspectScript prints, in one round trip, the remote user's uid, the
// owner and raw mode (lstat: a symlink is seen as one) of the agent
// directory and each of its parents, the host's `uname -m`, and for the
// candidate of that architecture the owner and mode of its copy and the
// copy's hash when it is a regular file. Paths that do not exist are left
// out. Every candidate is in the script (a case on uname -m), so a mixed
// fleet costs no second round trip to learn which binary a host needs.
//
// Hashing the 18 MB binary on the host costs ~60 ms of CPU per host and
// run, and on a 10-host lab sharing 2 cores that was most of the per-host
// cost of a no-op diff. So a run that verified the hash records it next to
// the binary (bin.verified: size, mtime, ctime and inode, then the hash),
// and the next run trusts that record instead of hashing while the file's
// stat is unchanged. Any write, chmod or rename of the file sets its ctime
// to the present, which nobody can set back without the clock; the record
// is only written for a file whose ctime is well in the past (a write in
// the same clock tick as the hashing would otherwise look unchanged), and
// only after the directory was found safe. A host whose stat cannot print
// nanoseconds (busybox) gets no record and is hashed every run, as before.
func inspectScript(dir string, cs []agentCandidate) string {
	var q []string
	for _, p := range pathsTo(dir) {
		q = append(q, shellQuote(p))
	}
	var arms strings.Builder
	for _, c := range cs {
		if c.local == "" {
			continue
		}
		fmt.Fprintf(&arms, "%s) b=%s; s=%s;;\n", strings.Join(c.machines, "|"), shellQuote(remoteAgentPath(dir, c.sum)), c.sum)
	}
	return fmt.Sprintf(`echo "uid $(id -u)"
stat -c 'stat %%u %%f %%n' -- %[1]s 2>/dev/null || true
m="$(uname -m)"
echo "arch $m"
b=
case "$m" in
%[2]sesac
if [ -n "$b" ]; then
stat -c 'stat %%u %%f %%n' -- "$b" 2>/dev/null || true
if [ -f "$b" ] && [ ! -L "$b" ]; then
k="$(stat -c '%%s %%.9Y %%.9Z %%i' -- "$b" 2>/dev/null)"
echo "key $k"
echo "now $(date +%%s)"
if [ -n "$k" ] && [ -f "$b.verified" ] && [ ! -L "$b.verified" ] && [ "$(cat "$b.verified" 2>/dev/null)" = "$k $s" ]; then echo "sha256 $s recorded"
else echo "sha256 $(sha256sum < "$b")"; fi
fi
fi`,
		strings.Join(q, " "), arms.String())
}

// recordScript writes bin's hash record (see inspectScript) atomically.
func recordScript(dir, bin, key, sum string) string {
	return fmt.Sprintf(`set -e
test -d %[1]s
test ! -L %[1]s
t=%[2]s.tmp.$$
trap 'rm -f "$t"' EXIT
(umask 077; printf '%%s\n' %[3]s > "$t")
mv -f "$t" %[2]s`, shellQuote(dir), shellQuote(bin+".verified"), shellQuote(key+" "+sum))
}

// statKeyRE is what GNU stat prints for '%s %.9Y %.9Z %i'.
var statKeyRE = regexp.MustCompile(`^[0-9]+ [0-9]+\.[0-9]{9} ([0-9]+)\.[0-9]{9} [0-9]+$`)

// remoteFile is what stat said of one path on the host.
type remoteFile struct {
	uid  int
	mode uint32 // st_mode: type and permission bits
}

func (f remoteFile) isLink() bool    { return f.mode&syscall.S_IFMT == syscall.S_IFLNK }
func (f remoteFile) isRegular() bool { return f.mode&syscall.S_IFMT == syscall.S_IFREG }
func (f remoteFile) perm() uint32    { return f.mode & 0o7777 }

// othersMayWrite: group or others can add, rename or remove entries. A
// sticky directory such as /tmp lets them add their own but not touch
// root's, so a root-owned path through it stays safe.
func (f remoteFile) othersMayWrite() bool {
	return f.perm()&0o022 != 0 && f.perm()&0o1000 == 0
}

type remoteState struct {
	uid     int
	files   map[string]remoteFile
	sha256  string
	cached  bool   // sha256 is from the binary's record, not hashed this run
	key     string // the binary's stat, as its record holds it
	now     int64  // the host's clock, in seconds
	machine string // what uname -m printed
}

// settled says whether the binary's stat may be recorded: stat printed
// nanoseconds, and its ctime is more than 2 s older than the host's clock.
func (st remoteState) settled() bool {
	m := statKeyRE.FindStringSubmatch(st.key)
	if m == nil {
		return false
	}
	ctime, err := strconv.ParseInt(m[1], 10, 64)
	return err == nil && st.now-ctime > recordAfter
}

// recordAfter is how many seconds old a binary's ctime must be for its
// hash to be recorded (a variable for tests).
var recordAfter int64 = 2

func parseInspect(out []byte) (remoteState, error) {
	st := remoteState{uid: -1, files: map[string]remoteFile{}}
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSuffix(line, "\n")
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "uid":
			uid, err := strconv.Atoi(rest)
			if err != nil {
				return st, fmt.Errorf("id -u printed %q", rest)
			}
			st.uid = uid
		case "stat":
			f := strings.SplitN(rest, " ", 3)
			if len(f) != 3 {
				return st, fmt.Errorf("stat printed %q", line)
			}
			uid, err1 := strconv.Atoi(f[0])
			mode, err2 := strconv.ParseUint(f[1], 16, 32)
			if err1 != nil || err2 != nil {
				return st, fmt.Errorf("stat printed %q", line)
			}
			st.files[f[2]] = remoteFile{uid: uid, mode: uint32(mode)}
		case "sha256":
			var how string
			st.sha256, how, _ = strings.Cut(rest, " ")
			st.cached = how == "recorded"
		case "key":
			st.key = rest
		case "arch":
			st.machine = rest
		case "now":
			st.now, _ = strconv.ParseInt(rest, 10, 64)
		}
	}
	if st.uid < 0 {
		return st, fmt.Errorf("no uid in %q", out)
	}
	return st, nil
}

// checkDir refuses a directory that someone other than root (or the user
// the agent runs as) could swap or fill: a symlink on the way, a parent
// they own or may write to. What does not exist yet is made by us.
func (st remoteState) checkDir(dir string) error {
	for _, p := range pathsTo(dir) {
		f, ok := st.files[p]
		if !ok {
			break
		}
		switch {
		case f.isLink():
			return fmt.Errorf("%s is a symbolic link: refusing to install the agent through it; make it a directory owned by root", p)
		case f.uid != 0 && f.uid != st.uid:
			return fmt.Errorf("%s is owned by uid %d, not root: refusing to install the agent below it; chown root it", p, f.uid)
		case p != path.Clean(dir) && f.othersMayWrite():
			return fmt.Errorf("%s is writable by others (mode %04o): refusing to install the agent below it; chmod go-w it", p, f.perm())
		}
	}
	return nil
}

// installed: bin is a regular file with the wanted hash that only its
// owner may change, in a directory that is its owner's alone.
func (st remoteState) installed(dir, bin, sum string) bool {
	d, ok := st.files[path.Clean(dir)]
	if !ok || d.perm() != 0o700 {
		return false
	}
	f, ok := st.files[bin]
	return ok && f.isRegular() && (f.uid == 0 || f.uid == st.uid) && f.perm()&0o022 == 0 && st.sha256 == sum
}

type sumKey struct {
	path  string
	size  int64
	mtime time.Time
}

// sums caches file hashes for the life of the process: every host asks for
// the same binary, and hashing it once is enough unless it is rebuilt.
// hashing makes the hosts that ask at once (Connect asks for all of them
// in parallel) wait for the first one's hash instead of each hashing the
// 30 MB binary again: on 10 hosts that was 10 hashes at the same moment.
var (
	sums    sync.Map // sumKey -> string
	hashing sync.Mutex
)

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	key := sumKey{p, fi.Size(), fi.ModTime()}
	if s, ok := sums.Load(key); ok {
		return s.(string), nil
	}
	hashing.Lock()
	defer hashing.Unlock()
	if s, ok := sums.Load(key); ok {
		return s.(string), nil
	}
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	s := hex.EncodeToString(hash.Sum(nil))
	sums.Store(key, s)
	return s, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
