package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// commit is a commit as the three providers give it, reduced to what Push keeps.
type commit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Author  struct {
		Name string `json:"name"`
	} `json:"author"`
}

// hubPush is the push payload of GitHub, and of Gitea, which copies it.
type hubPush struct {
	Ref        string   `json:"ref"`
	After      string   `json:"after"`
	Deleted    bool     `json:"deleted"`
	HeadCommit *commit  `json:"head_commit"`
	Commits    []commit `json:"commits"`
	Repository *struct {
		CloneURL  string `json:"clone_url"`
		SSHURL    string `json:"ssh_url"`
		HTMLURL   string `json:"html_url"`
		GitURL    string `json:"git_url"`
		SVNURL    string `json:"svn_url"`
		URL       string `json:"url"`
		MirrorURL string `json:"mirror_url"`
	} `json:"repository"`
}

// gitlabPush is GitLab's Push Hook and Tag Push Hook payload.
type gitlabPush struct {
	ObjectKind string   `json:"object_kind"`
	Ref        string   `json:"ref"`
	After      string   `json:"after"`
	Commits    []commit `json:"commits"`
	Repository *struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		URL        string `json:"url"`
		Homepage   string `json:"homepage"`
	} `json:"repository"`
	Project *struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		WebURL     string `json:"web_url"`
		HTTPURL    string `json:"http_url"`
		SSHURL     string `json:"ssh_url"`
	} `json:"project"`
}

// parseHub parses a GitHub or Gitea push payload.
func parseHub(body []byte) (Push, error) {
	var pl hubPush
	if err := decode(body, &pl); err != nil {
		return Push{}, err
	}
	p := Push{Ref: pl.Ref, After: pl.After, Deleted: pl.Deleted}
	if r := pl.Repository; r != nil {
		p.Repos = urls(r.CloneURL, r.SSHURL, r.HTMLURL, r.GitURL, r.SVNURL, r.URL, r.MirrorURL)
	}
	head := pl.HeadCommit
	if head == nil {
		head = headOf(pl.Commits, pl.After)
	}
	p.Author, p.Message = describe(head)
	return p, nil
}

// parseGitLab parses a GitLab push or tag push payload.
func parseGitLab(body []byte) (Push, error) {
	var pl gitlabPush
	if err := decode(body, &pl); err != nil {
		return Push{}, err
	}
	if pl.ObjectKind != "" && pl.ObjectKind != "push" && pl.ObjectKind != "tag_push" {
		return Push{}, fmt.Errorf("%w: the GitLab push hook's payload has object_kind %q, not push or tag_push", ErrMalformed, clip(pl.ObjectKind))
	}
	p := Push{Ref: pl.Ref, After: pl.After}
	var all []string
	if r := pl.Repository; r != nil {
		all = append(all, r.GitHTTPURL, r.GitSSHURL, r.URL, r.Homepage)
	}
	if r := pl.Project; r != nil {
		all = append(all, r.GitHTTPURL, r.GitSSHURL, r.WebURL, r.HTTPURL, r.SSHURL)
	}
	p.Repos = urls(all...)
	p.Author, p.Message = describe(headOf(pl.Commits, pl.After))
	return p, nil
}

// decode unmarshals a verified body, turning every failure into ErrMalformed.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: the body is not a push payload: %w", ErrMalformed, err)
	}
	return nil
}

// headOf picks the head commit of a push: the one whose id is after, else the last one.
func headOf(commits []commit, after string) *commit {
	for i := range commits {
		if after != "" && strings.EqualFold(commits[i].ID, after) {
			return &commits[i]
		}
	}
	if len(commits) == 0 {
		return nil
	}
	return &commits[len(commits)-1]
}

// describe gives a commit's author name and the first line of its message.
func describe(c *commit) (author, message string) {
	if c == nil {
		return "", ""
	}
	first, _, _ := strings.Cut(c.Message, "\n")
	return strings.TrimSpace(c.Author.Name), strings.TrimSpace(first)
}

// urls keeps the non-empty values, in order, without duplicates.
func urls(all ...string) []string {
	var out []string
	for _, u := range all {
		if u == "" || slices.Contains(out, u) {
			continue
		}
		out = append(out, u)
	}
	return out
}
