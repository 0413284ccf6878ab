// Package examples_test keeps the examples in this folder working: every
// `reconcile` command line in them uses flags the CLI really has, the CI
// files have the structure GitHub and GitLab expect, the systemd units pass
// systemd-analyze, and the cron line is one cron accepts.
package examples_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// exampleFiles are the files whose reconcile command lines are checked,
// with the commands each must invoke (so a file whose lines stop being
// found fails instead of passing with nothing checked).
var exampleFiles = map[string][]string{
	"systemd/reconcile-sync.service":        {"sync"},
	"systemd/reconcile-sync-daemon.service": {"sync"},
	"systemd/reconcile-sync.timer":          nil,
	"cron/reconcile.cron":                   {"sync"},
	"ci/github-actions.yml":                 {"apply", "diff"},
	"ci/gitlab-ci.yml":                      {"apply", "diff"},
}

func TestExampleFilesListed(t *testing.T) {
	var found []string
	for _, pattern := range []string{"*/*.service", "*/*.timer", "*/*.cron", "*/*.yml", "*/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasPrefix(f, "nginx/") { // manifests, checked by `reconcile validate` elsewhere
				found = append(found, f)
			}
		}
	}
	for _, f := range found {
		if _, ok := exampleFiles[f]; !ok {
			t.Errorf("%s is not in exampleFiles, so its reconcile command lines are not checked", f)
		}
	}
}

// invocation is one `reconcile <command> <args>` found in an example.
type invocation struct {
	file    string
	line    int
	command string
	args    []string
}

func (i invocation) String() string {
	return fmt.Sprintf("%s:%d: reconcile %s %s", i.file, i.line, i.command, strings.Join(i.args, " "))
}

// commandRE matches the command after the binary, and the rest of the line.
var commandRE = regexp.MustCompile(`^[ \t]+([a-z][a-z-]*)\b(.*)`)

// invocations finds reconcile command lines in text, joining lines that end
// in a backslash as the shell and systemd do. Comments are scanned too: a
// command shown to a reader must work as well. The binary is a word of its
// own: /usr/local/bin/reconcile and `reconcile` count, /var/lib/reconcile/,
// reconcile.prom and reconcile-dev do not. Every occurrence is looked at, so
// in cron's "reconcile reconcile sync" (user, then command) the second is
// found.
func invocations(file string, text string) []invocation {
	var out []invocation
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start, line := i+1, lines[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimLeft(lines[i], " \t#")
		}
		for at := 0; ; {
			j := strings.Index(line[at:], "reconcile")
			if j < 0 {
				break
			}
			j += at
			at = j + len("reconcile")
			if j > 0 && !strings.ContainsRune(" \t/\"'=`", rune(line[j-1])) {
				continue
			}
			if m := commandRE.FindStringSubmatch(line[at:]); m != nil {
				out = append(out, invocation{file: file, line: start, command: m[1], args: commandArgs(m[2])})
			}
		}
	}
	return out
}

// commandArgs splits the rest of a command line into words, up to a shell
// operator, a redirection or the end of inline code in a comment.
func commandArgs(rest string) []string {
	var args []string
	for _, w := range strings.Fields(rest) {
		if strings.ContainsAny(w[:1], "|&;>)`") || strings.HasPrefix(w, "2>") || strings.Contains(w, "`") {
			break
		}
		args = append(args, strings.Trim(w, `"'`))
	}
	return args
}

func TestInvocationsParser(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"plain", "reconcile diff -f prod -o markdown", []string{"1 diff [-f prod -o markdown]"}},
		{"absolute path and continuation", "ExecStart=/usr/local/bin/reconcile sync --once \\\n    --interval 30s\nNext=1",
			[]string{"1 sync [--once --interval 30s]"}},
		{"stops at redirection and ||", `reconcile diff --timeout 5m >plan.md 2>diff.err || code=$?`, []string{"1 diff [--timeout 5m]"}},
		{"stops at 2>&1", `reconcile sync --once >>/var/log/x 2>&1`, []string{"1 sync [--once]"}},
		{"inline code in a comment", "# push -> `reconcile apply`: make the hosts match", []string{"1 apply []"}},
		{"quoted values", `reconcile apply -f "$MANIFESTS" --ssh-key "$HOME/k"`, []string{`1 apply [-f $MANIFESTS --ssh-key $HOME/k]`}},
		{"paths and names are not the binary", "/var/lib/reconcile/x reconcile.prom reconcile-dev/reconcile@latest", nil},
		{"prose", "# reconcile takes a lock", []string{"1 takes [a lock]"}},
		{"cron user field", "*/5 * * * * reconcile reconcile sync --once", []string{"1 reconcile [sync --once]", "1 sync [--once]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, inv := range invocations("f", tt.text) {
				got = append(got, fmt.Sprintf("%d %s %v", inv.line, inv.command, inv.args))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExampleFlags checks every flag of every reconcile command line in the
// examples against the command's --help, and that a flag that takes a
// value is given one.
func TestExampleFlags(t *testing.T) {
	for _, file := range sortedKeys(exampleFiles) {
		text := readFile(t, file)
		var commands []string
		for _, inv := range invocations(file, text) {
			if !strings.HasPrefix(strings.Join(inv.args, " "), "-") && !knownCommand(inv.command) {
				continue // prose such as "reconcile takes a lock"
			}
			if !slices.Contains(commands, inv.command) {
				commands = append(commands, inv.command)
			}
			t.Run(fmt.Sprintf("%s:%d", file, inv.line), func(t *testing.T) {
				flags, err := helpFlags(t, inv.command)
				if err != nil {
					t.Fatalf("%v\n  used by %v", err, inv)
				}
				for i := 0; i < len(inv.args); i++ {
					a := inv.args[i]
					if !strings.HasPrefix(a, "-") || a == "-" {
						continue
					}
					name, _, hasValue := strings.Cut(a, "=")
					f, ok := flags[name]
					if !ok {
						t.Errorf("reconcile %s has no flag %s (in %v)", inv.command, name, inv)
						continue
					}
					if f.takesValue && !hasValue {
						if i+1 >= len(inv.args) || strings.HasPrefix(inv.args[i+1], "-") {
							t.Errorf("reconcile %s %s needs a value (in %v)", inv.command, name, inv)
						}
						i++
					}
				}
			})
		}
		sort.Strings(commands)
		if want := exampleFiles[file]; !slices.Equal(commands, want) {
			t.Errorf("%s invokes reconcile %v, want %v", file, commands, want)
		}
	}
}

var commandNames = []string{"apply", "describe", "diff", "expose", "get", "render", "sync", "validate", "version"}

func knownCommand(c string) bool { return slices.Contains(commandNames, c) }

type flagInfo struct{ takesValue bool }

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	helpMu    sync.Mutex
	helpCache = map[string]map[string]flagInfo{}
)

// reconcileBinary builds ./cmd/reconcile once per test run.
func reconcileBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reconcile-examples-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "reconcile")
		cmd := exec.Command(goTool(), "build", "-o", binary, "./cmd/reconcile")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build reconcile: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go" // where the Makefile and the README put Go
}

// Flag lines in cobra's help: "  -f, --filename string   read ..." or
// "      --once   run once"; a type word after the name means a value.
var helpFlagRE = regexp.MustCompile(`^\s+(?:-([a-zA-Z]), )?--([a-z0-9][a-z0-9-]*)( [a-zA-Z0-9]+)?(?:\s{2,}|$)`)

// helpFlags returns the flags `reconcile <command> --help` lists, short
// and long.
func helpFlags(t *testing.T, command string) (map[string]flagInfo, error) {
	helpMu.Lock()
	defer helpMu.Unlock()
	if f, ok := helpCache[command]; ok {
		return f, nil
	}
	cmd := exec.Command(reconcileBinary(t), command, "--help")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("reconcile %s --help: %v: %s (no such command in this build?)", command, err, strings.TrimSpace(stderr.String()))
	}
	if !strings.Contains(out.String(), "reconcile "+command) {
		return nil, fmt.Errorf("reconcile %s --help does not describe %q:\n%s", command, command, out.String())
	}
	flags := map[string]flagInfo{}
	inFlags := false
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasSuffix(line, "Flags:"):
			inFlags = true
			continue
		case line == "" || !strings.HasPrefix(line, " "):
			inFlags = false
		}
		if !inFlags {
			continue
		}
		if m := helpFlagRE.FindStringSubmatch(line); m != nil {
			fi := flagInfo{takesValue: m[3] != ""}
			flags["--"+m[2]] = fi
			if m[1] != "" {
				flags["-"+m[1]] = fi
			}
		}
	}
	if _, ok := flags["--help"]; !ok {
		return nil, fmt.Errorf("found no flags in reconcile %s --help:\n%s", command, out.String())
	}
	helpCache[command] = flags
	return flags, nil
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- GitHub Actions

type ghWorkflow struct {
	Name        string            `yaml:"name"`
	On          ghTriggers        `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]ghJob  `yaml:"jobs"`
}

type ghTriggers struct {
	PullRequest *ghBranches `yaml:"pull_request"`
	Push        *ghBranches `yaml:"push"`
}

type ghBranches struct {
	Branches []string `yaml:"branches"`
}

type ghJob struct {
	If          string            `yaml:"if"`
	RunsOn      any               `yaml:"runs-on"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency map[string]any    `yaml:"concurrency"`
	Environment any               `yaml:"environment"`
	Env         map[string]string `yaml:"env"`
	Steps       []ghStep          `yaml:"steps"`
}

type ghStep struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

// decodeStrict decodes YAML 1.2 (so `on:` stays a string key, unlike YAML
// 1.1 decoders that read it as true) and rejects keys the struct lacks, so
// a typo like `run-on` fails here instead of on the first push.
func decodeStrict(t *testing.T, file string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, file)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func TestGitHubActions(t *testing.T) {
	const file = "ci/github-actions.yml"
	var w ghWorkflow
	decodeStrict(t, file, &w)

	if w.On.PullRequest == nil || w.On.Push == nil || !slices.Equal(w.On.Push.Branches, []string{"main"}) {
		t.Errorf("on: want pull_request and push to main, got %+v", w.On)
	}
	if w.Env["MANIFESTS"] == "" {
		t.Errorf("env.MANIFESTS is not set")
	}
	for _, name := range sortedKeys(w.Jobs) {
		job := w.Jobs[name]
		t.Run(name, func(t *testing.T) {
			if job.RunsOn == nil || len(job.Steps) == 0 {
				t.Fatalf("job needs runs-on and steps")
			}
			for i, s := range job.Steps {
				if (s.Uses == "") == (s.Run == "") {
					t.Errorf("step %d (%s): exactly one of uses and run", i, s.Name)
				}
			}
			all := jobText(job)
			for _, secret := range []string{"secrets.RECONCILE_SSH_KEY", "secrets.RECONCILE_KNOWN_HOSTS"} {
				if !strings.Contains(all, secret) {
					t.Errorf("job does not use %s", secret)
				}
			}
		})
	}

	diff, apply := w.Jobs["diff"], w.Jobs["apply"]
	if !strings.Contains(diff.If, "github.event_name == 'pull_request'") {
		t.Errorf("diff job runs on %q, want pull requests only", diff.If)
	}
	if diff.Permissions["pull-requests"] != "write" {
		t.Errorf("diff job needs pull-requests: write to comment")
	}
	if s := stepRunning(diff, "reconcile diff"); !strings.Contains(s.Run, "-o markdown") || s.ID == "" {
		t.Errorf("diff step must have an id and use -o markdown: %+v", s)
	}
	if s := stepRunning(diff, "gh pr comment"); !strings.Contains(s.Run, "--body-file plan.md") || s.Env["GH_TOKEN"] == "" {
		t.Errorf("comment step must post plan.md with GH_TOKEN: %+v", s)
	}
	if !strings.Contains(apply.If, "github.event_name == 'push'") {
		t.Errorf("apply job runs on %q, want pushes only (the on: filter limits them to main)", apply.If)
	}
	if s := stepRunning(apply, "reconcile apply"); !strings.Contains(s.Run, "--timeout 10m") {
		t.Errorf("apply step must use --timeout 10m: %+v", s)
	}
	if apply.Concurrency["cancel-in-progress"] != false {
		t.Errorf("apply must not cancel a rollout in progress: %v", apply.Concurrency)
	}

	// The diff step must succeed for exit status 0 and 1 and hand the code on.
	script := stepRunning(diff, "reconcile diff").Run
	for _, tt := range diffExitTests {
		t.Run(fmt.Sprintf("diff exit %d", tt.code), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "github_output")
			res := runScript(t, dir, script, tt.code, "GITHUB_OUTPUT="+out)
			if res.err != nil {
				t.Fatalf("step failed: %v\n%s", res.err, res.output)
			}
			if got := strings.TrimSpace(readFileAbs(t, out)); got != "exit-code="+strconv.Itoa(tt.code) {
				t.Errorf("step output %q, want exit-code=%d", got, tt.code)
			}
			if got := readFileAbs(t, filepath.Join(dir, "plan.md")); got != tt.plan {
				t.Errorf("plan.md:\n%s\nwant:\n%s", got, tt.plan)
			}
		})
	}
	if s := stepIf(diff, "fromJSON(steps."+stepRunning(diff, "reconcile diff").ID+".outputs.exit-code) >= 2"); s.Run != "exit 1" {
		t.Errorf("no step fails the job when diff exits 2 or more")
	}
}

// diffExitTests drive a fake reconcile through the CI diff scripts.
var diffExitTests = []struct {
	code   int
	fail   bool
	plan   string
	reason string
}{
	{code: 0, plan: "PLAN\n"},
	{code: 1, plan: "PLAN\n"},
	{code: 4, fail: true, plan: "PLAN\n\n**reconcile diff failed (exit status 4):**\n\n```\nnode node-2 unreachable\n```\n"},
}

type scriptResult struct {
	err    error
	output string
}

// runScript runs a CI script under bash -eo pipefail (what GitHub's and
// GitLab's bash shells use) in dir, with a fake reconcile first on PATH
// that prints PLAN, a line on stderr, and exits with code.
func runScript(t *testing.T, dir, script string, code int, env ...string) scriptResult {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := fmt.Sprintf("#!/bin/sh\necho PLAN\necho 'node node-2 unreachable' >&2\nexit %d\n", code)
	if err := os.WriteFile(filepath.Join(bin, "reconcile"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir, "MANIFESTS=prod"}, env...)
	out, err := cmd.CombinedOutput()
	return scriptResult{err: err, output: string(out)}
}

func readFileAbs(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jobText(j ghJob) string {
	var b strings.Builder
	for _, s := range j.Steps {
		b.WriteString(s.Run)
		for _, v := range s.Env {
			b.WriteString("\n" + v)
		}
	}
	return b.String()
}

func stepRunning(j ghJob, substr string) ghStep {
	for _, s := range j.Steps {
		if strings.Contains(s.Run, substr) {
			return s
		}
	}
	return ghStep{}
}

func stepIf(j ghJob, cond string) ghStep {
	for _, s := range j.Steps {
		if s.If == cond {
			return s
		}
	}
	return ghStep{}
}

// ---- GitLab CI

func TestGitLabCI(t *testing.T) {
	const file = "ci/gitlab-ci.yml"
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, file)), &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var stages []string
	for _, s := range list(doc["stages"]) {
		stages = append(stages, s.(string))
	}
	if !slices.Equal(stages, []string{"plan", "apply"}) {
		t.Errorf("stages = %v", stages)
	}
	const mrRule = `$CI_PIPELINE_SOURCE == "merge_request_event"`
	const mainRule = `$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"`
	if got := rules(doc["workflow"]); !slices.Equal(got, []string{mrRule, mainRule}) {
		t.Errorf("workflow rules = %q", got)
	}

	// Keywords a job may have here; anything else is a typo or a job
	// GitLab would run that nobody meant.
	jobKeys := []string{"extends", "stage", "rules", "script", "artifacts", "resource_group", "environment",
		"image", "tags", "before_script"}
	jobs := map[string]map[string]any{}
	for k, v := range doc {
		switch k {
		case "workflow", "stages", "variables":
			continue
		}
		job, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: top-level %q is not a job", file, k)
		}
		for key := range job {
			if !slices.Contains(jobKeys, key) {
				t.Errorf("job %s: unexpected keyword %q", k, key)
			}
		}
		jobs[k] = job
	}
	for name, job := range jobs {
		if strings.HasPrefix(name, ".") {
			continue
		}
		if ext, ok := job["extends"].(string); ok && jobs[ext] == nil {
			t.Errorf("job %s extends %q, which does not exist", name, ext)
		}
		if !slices.Contains(stages, job["stage"].(string)) {
			t.Errorf("job %s: stage %v is not in stages", name, job["stage"])
		}
	}
	base := jobs[".reconcile"]
	before := strings.Join(stringList(t, base["before_script"]), "\n")
	for _, v := range []string{"$RECONCILE_SSH_KEY", "$RECONCILE_KNOWN_HOSTS"} {
		if !strings.Contains(before, v) {
			t.Errorf(".reconcile before_script does not use %s", v)
		}
	}
	if got := rules(jobs["diff"]); !slices.Equal(got, []string{mrRule}) {
		t.Errorf("diff rules = %q, want merge requests only", got)
	}
	if got := rules(jobs["apply"]); !slices.Equal(got, []string{mainRule}) {
		t.Errorf("apply rules = %q, want the default branch only", got)
	}
	diffScript := strings.Join(stringList(t, jobs["diff"]["script"]), "\n")
	if !strings.Contains(diffScript, "reconcile diff") || !strings.Contains(diffScript, "-o markdown") {
		t.Errorf("diff script does not run reconcile diff -o markdown")
	}
	applyScript := strings.Join(stringList(t, jobs["apply"]["script"]), "\n")
	if !strings.Contains(applyScript, "reconcile apply") || !strings.Contains(applyScript, "--timeout 10m") {
		t.Errorf("apply script does not run reconcile apply --timeout 10m")
	}

	// GitLab runs the script lines in one shell; exit status 1 must pass.
	for _, tt := range diffExitTests {
		t.Run(fmt.Sprintf("diff exit %d", tt.code), func(t *testing.T) {
			dir := t.TempDir()
			res := runScript(t, dir, diffScript, tt.code)
			if (res.err != nil) != tt.fail {
				t.Fatalf("job error = %v, want failure %v\n%s", res.err, tt.fail, res.output)
			}
			if got := readFileAbs(t, filepath.Join(dir, "plan.md")); got != tt.plan {
				t.Errorf("plan.md:\n%s\nwant:\n%s", got, tt.plan)
			}
		})
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func stringList(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, e := range list(v) {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("script entry %v is not a string", e)
		}
		out = append(out, s)
	}
	return out
}

func rules(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for _, r := range list(m["rules"]) {
		rm, _ := r.(map[string]any)
		s, _ := rm["if"].(string)
		out = append(out, s)
	}
	return out
}

// ---- systemd

// unit is a parsed unit file: section -> key -> values, in order.
type unit map[string]map[string][]string

// parseUnit reads the INI dialect of systemd units: comments with # or ;,
// [Section] headers, Key=Value lines, and a trailing backslash continuing a
// value on the next line.
func parseUnit(text string) (unit, error) {
	u := unit{}
	section := ""
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		n, line := i+1, strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", n, line)
			}
			section = line[1 : len(line)-1]
			if u[section] != nil {
				return nil, fmt.Errorf("line %d: section [%s] twice", n, section)
			}
			u[section] = map[string][]string{}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: %q is not Key=Value inside a section", n, line)
		}
		key = strings.TrimSpace(key)
		u[section][key] = append(u[section][key], strings.TrimSpace(value))
	}
	return u, nil
}

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func TestParseUnit(t *testing.T) {
	tests := []struct {
		name, text, wantErr string
		want                map[string]string // "Section.Key" -> value
	}{
		{name: "continuation and comments",
			text: "# c\n[Service]\n; c\nExecStart=/bin/x a \\\n    b\nType=oneshot\n",
			want: map[string]string{"Service.ExecStart": "/bin/x a  b", "Service.Type": "oneshot"}},
		{name: "key outside a section", text: "Type=oneshot\n", wantErr: `line 1: "Type=oneshot" is not Key=Value inside a section`},
		{name: "not key=value", text: "[Unit]\nDescription\n", wantErr: `line 2: "Description" is not Key=Value inside a section`},
		{name: "section twice", text: "[Unit]\n[Unit]\n", wantErr: "line 2: section [Unit] twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := parseUnit(tt.text)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				s, key, _ := strings.Cut(k, ".")
				if got := u.get(s, key); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestSystemdUnits(t *testing.T) {
	tests := []struct {
		file     string
		sections []string
		want     map[string]string // "Section.Key" -> value
		execArgs string            // ExecStart must start with this
	}{
		{
			file:     "systemd/reconcile-sync.service",
			sections: []string{"Service", "Unit"},
			want:     map[string]string{"Service.Type": "oneshot", "Service.SuccessExitStatus": "6", "Service.User": "reconcile"},
			execArgs: "/usr/local/bin/reconcile sync --once ",
		},
		{
			file:     "systemd/reconcile-sync.timer",
			sections: []string{"Install", "Timer", "Unit"},
			want: map[string]string{"Timer.OnCalendar": "minutely", "Timer.RandomizedDelaySec": "20s",
				"Timer.Unit": "reconcile-sync.service", "Install.WantedBy": "timers.target"},
		},
		{
			file:     "systemd/reconcile-sync-daemon.service",
			sections: []string{"Install", "Service", "Unit"},
			want: map[string]string{"Service.Restart": "on-failure", "Service.User": "reconcile",
				"Install.WantedBy": "multi-user.target"},
			execArgs: "/usr/local/bin/reconcile sync --interval 30s ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			u, err := parseUnit(readFile(t, tt.file))
			if err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			if got := sortedKeys(u); !slices.Equal(got, tt.sections) {
				t.Errorf("sections %v, want %v", got, tt.sections)
			}
			if u.get("Unit", "Description") == "" {
				t.Errorf("no Description")
			}
			for k, want := range tt.want {
				s, key, _ := strings.Cut(k, ".")
				if got := u.get(s, key); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tt.execArgs != "" {
				exec := u.get("Service", "ExecStart")
				if !strings.HasPrefix(exec, tt.execArgs) {
					t.Errorf("ExecStart = %q, want it to start with %q", exec, tt.execArgs)
				}
				if !strings.Contains(exec, "--metrics-file /var/lib/node_exporter/textfile_collector/reconcile.prom") ||
					!strings.Contains(exec, "--log-format json") {
					t.Errorf("ExecStart = %q, want --metrics-file for node_exporter and --log-format json", exec)
				}
			}
		})
	}
}

// TestSystemdAnalyzeVerify runs `systemd-analyze verify` on copies of the
// units whose ExecStart names an executable that exists (this test binary),
// since verify refuses a missing one. It loads the units offline and starts
// nothing. Unknown keys are only warnings to systemd, so any output fails.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; TestSystemdUnits checked the INI structure")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := filepath.Glob("systemd/*")
	if err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, f := range files {
		text := strings.ReplaceAll(readFile(t, f), "/usr/local/bin/reconcile", self)
		dst := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, dst)
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, units...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// ---- cron

// cronField bounds, in the order of a crontab line.
var cronFields = []struct {
	name     string
	min, max int
	names    []string // accepted names, index = value - min
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// checkCronField accepts what Vixie/Debian cron accepts in one field:
// *, numbers and names, ranges a-b, steps */n and a-b/n, and lists of those.
func checkCronField(i int, field string) error {
	f := cronFields[i]
	value := func(s string) (int, error) {
		for j, n := range f.names {
			if strings.EqualFold(s, n) {
				return f.min + j, nil
			}
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < f.min || v > f.max {
			return 0, fmt.Errorf("%s %q: want %d-%d", f.name, s, f.min, f.max)
		}
		return v, nil
	}
	for _, part := range strings.Split(field, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			if n, err := strconv.Atoi(step); err != nil || n < 1 || n > f.max {
				return fmt.Errorf("%s %q: bad step %q", f.name, field, step)
			}
		}
		if rng == "*" {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := value(lo)
		if err != nil {
			return err
		}
		if !isRange {
			if hasStep {
				return fmt.Errorf("%s %q: a step needs * or a range", f.name, field)
			}
			continue
		}
		b, err := value(hi)
		if err != nil {
			return err
		}
		if a > b {
			return fmt.Errorf("%s %q: range runs backwards", f.name, field)
		}
	}
	return nil
}

func TestCheckCronField(t *testing.T) {
	tests := []struct {
		field int
		value string
		ok    bool
	}{
		{0, "*", true}, {0, "*/5", true}, {0, "0,15,30,45", true}, {0, "10-50/10", true}, {0, "59", true},
		{0, "60", false}, {0, "*/0", false}, {0, "5/5", false}, {0, "50-10", false}, {0, "x", false},
		{1, "23", true}, {1, "24", false}, {2, "0", false}, {2, "31", true},
		{3, "jan-jun", true}, {3, "13", false}, {4, "mon-fri", true}, {4, "7", true}, {4, "8", false},
	}
	for _, tt := range tests {
		t.Run(cronFields[tt.field].name+" "+tt.value, func(t *testing.T) {
			if err := checkCronField(tt.field, tt.value); (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

var cronEnvRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func TestCronExample(t *testing.T) {
	const file = "cron/reconcile.cron"
	text := readFile(t, file)
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("%s must end in a newline: cron ignores a last line without one", file)
	}
	var jobs [][]string
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || cronEnvRE.MatchString(line) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 7 {
			t.Errorf("%s:%d: want 5 schedule fields, a user and a command: %q", file, n+1, line)
			continue
		}
		for i := range 5 {
			if err := checkCronField(i, f[i]); err != nil {
				t.Errorf("%s:%d: %v", file, n+1, err)
			}
		}
		cmd := strings.Join(f[6:], " ")
		if strings.Contains(strings.ReplaceAll(cmd, `\%`, ""), "%") {
			t.Errorf("%s:%d: unescaped %% in the command, which cron turns into a newline", file, n+1)
		}
		jobs = append(jobs, append(f[:6:6], cmd))
	}
	if len(jobs) != 1 {
		t.Fatalf("%s: %d job lines, want 1", file, len(jobs))
	}
	job := jobs[0]
	if got := strings.Join(job[:5], " "); got != "*/5 * * * *" {
		t.Errorf("schedule %q, want every 5 minutes", got)
	}
	if job[5] != "reconcile" {
		t.Errorf("user %q, want reconcile", job[5])
	}
	for _, want := range []string{"reconcile sync --once ", "--wait-for-lock 2m", "--metrics-file ", "--log-format json"} {
		if !strings.Contains(job[6], want) {
			t.Errorf("command does not contain %q: %s", want, job[6])
		}
	}
	if strings.Contains(job[6], "flock") {
		t.Errorf("command uses flock; the lock on the hosts already serializes runs")
	}
}
