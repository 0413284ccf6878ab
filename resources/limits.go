package resources

// The limits below bound what a repository can make reconcile read, keep
// in memory and plan, so that a hostile or broken tree fails with a clear
// error in bounded time and memory instead of exhausting the machine it
// runs on. They are far above what a real tree for a Docker fleet needs;
// each one that is hit is reported as an error naming the file (and line)
// and the limit. The README's security section lists them from here.
const (
	// MaxFileBytes is the largest manifest file read (4 MiB). Kubernetes
	// itself stores no object over 1.5 MB; a larger file is refused
	// without being read whole.
	MaxFileBytes = 4 << 20

	// MaxTotalBytes caps all the manifest files of one tree together.
	MaxTotalBytes = 64 << 20

	// MaxFiles is the most manifest files one tree may hold.
	MaxFiles = 10000

	// MaxDocumentsPerFile and MaxDocuments bound the YAML documents of one
	// file and of the whole tree.
	MaxDocumentsPerFile = 5000
	MaxDocuments        = 10000

	// MaxDocumentNodes bounds the size of one document counted with its
	// YAML aliases expanded (every *alias counts the whole anchored
	// node again). It stops "billion laughs" documents, whose few
	// kilobytes expand to millions of values, before any check walks
	// them. A large Deployment has a few hundred nodes.
	MaxDocumentNodes = 20000

	// MaxErrors is how many errors a load reports; the rest are counted
	// in one last "and N more errors" line.
	MaxErrors = 100

	// MaxReplicas is the most replicas one Deployment may ask for, and
	// MaxPods the most pods of all Deployments of a tree together: every
	// pod is a container on a host and an entry in the plan.
	MaxReplicas = 1000
	MaxPods     = 10000

	// MaxServices is the most Services a tree may declare: each is a set
	// of iptables chains on every host.
	MaxServices = 5000

	// MaxQuoted is how many bytes of a user's value an error message
	// quotes before cutting it with "...".
	MaxQuoted = 64
)

// StateDir is the directory on each host that reconcile owns. The
// endpoints file must lie directly in it (its bin/ and state/
// subdirectories hold the agent binary, the lock and the records, which
// a manifest must not be able to overwrite).
const StateDir = "/var/lib/reconcile"
