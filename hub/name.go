package hub

import (
	"fmt"
	"regexp"
	"strings"
)

// Name is a model repository on the hub at one revision, written org/name[@revision].
type Name struct {
	Repo     string // "org/name"
	Revision string // a branch, a tag or a commit hash; DefaultRevision when none was given
}

// DefaultRevision is the revision of a name written without @revision, as in huggingface_hub.
const DefaultRevision = "main"

// String writes the name back as org/name@revision.
func (n Name) String() string { return n.Repo + "@" + n.Revision }

// repoPart is one side of org/name: the characters huggingface_hub's validate_repo_id accepts
// (letters, digits, '_', '-', '.'), starting and ending with a letter, digit or '_'.
var repoPart = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// commitHash is a full git commit id, the name of a snapshot folder.
var commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ParseName reads org/name or org/name@revision. Only the two-part form is a hub name here (a bare
// "gpt2" is far more likely a folder), and the rules are huggingface_hub's: at most 96 characters,
// no "--" or "..", no ".git" suffix.
func ParseName(s string) (Name, error) {
	repo, rev, hasRev := strings.Cut(s, "@")
	if hasRev && (rev == "" || strings.ContainsAny(rev, "@\\") || strings.Contains(rev, "..") ||
		strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/")) {
		return Name{}, fmt.Errorf("hub: %q: expected org/name@revision with a branch, tag or commit after @", s)
	}
	org, model, ok := strings.Cut(repo, "/")
	if !ok || !repoPart.MatchString(org) || !repoPart.MatchString(model) || len(repo) > 96 ||
		strings.Contains(repo, "--") || strings.Contains(repo, "..") || strings.HasSuffix(repo, ".git") {
		return Name{}, fmt.Errorf("hub: %q is not a model name: expected org/name[@revision] (letters, digits, '-', '_', '.')", s)
	}
	if !hasRev {
		rev = DefaultRevision
	}
	return Name{Repo: repo, Revision: rev}, nil
}
