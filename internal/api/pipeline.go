package api

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// PipelineRun is one run of an app's pipeline: a commit through its stages.
type PipelineRun struct {
	ID         string          `json:"id"`
	App        string          `json:"app"`
	Trigger    string          `json:"trigger"` // poll, webhook, manual
	Commit     PipelineCommit  `json:"commit"`
	Version    string          `json:"version,omitempty"` // the release: the commit's short SHA
	Phase      string          `json:"phase"`             // queued, running, waiting_approval, succeeded, failed, superseded, canceled
	Reason     string          `json:"reason,omitempty"`
	Stages     []PipelineStage `json:"stages"`
	Deployment string          `json:"deployment,omitempty"`
	Resumed    int             `json:"resumed,omitempty"` // times a server restart resumed it
	CreatedAt  time.Time       `json:"created_at"`
	EndedAt    *time.Time      `json:"ended_at,omitempty"`
}

// PipelineCommit is the commit a run deploys (empty until its source stage ran).
type PipelineCommit struct {
	SHA     string `json:"sha,omitempty"`
	Short   string `json:"short,omitempty"`
	Author  string `json:"author,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// PipelineStage is one stage of a run.
type PipelineStage struct {
	Name     string     `json:"name"`
	Kind     string     `json:"kind"`   // source, build, test, approval, deploy
	Status   string     `json:"status"` // pending, running, passed, failed, skipped
	Started  *time.Time `json:"started,omitempty"`
	Ended    *time.Time `json:"ended,omitempty"`
	Duration string     `json:"duration,omitempty"`
	Exit     *int       `json:"exit,omitempty"`
	Tail     []string   `json:"tail,omitempty"` // the last output lines, secrets masked
	Note     string     `json:"note,omitempty"`
}

// PipelineRunRequest starts a run by hand: of Commit (a SHA, 7-40 hex), or of the branch
// head when it is empty.
type PipelineRunRequest struct {
	Commit string `json:"commit,omitempty"`
}

// HookAnswer is what the webhook endpoint tells the sender.
type HookAnswer struct {
	Message string `json:"message"`
	Run     string `json:"run,omitempty"`
}

// PipelineRuns returns app's runs, newest first (limit 0: the server's default).
func (c *Client) PipelineRuns(ctx context.Context, app string, limit int) ([]PipelineRun, error) {
	var out []PipelineRun
	q := ""
	if limit > 0 {
		q = "?limit=" + strconv.Itoa(limit)
	}
	return out, c.get(ctx, "/api/v1/apps/"+url.PathEscape(app)+"/pipeline/runs"+q, &out)
}

// PipelineRun returns one run.
func (c *Client) PipelineRun(ctx context.Context, id string) (PipelineRun, error) {
	var out PipelineRun
	return out, c.get(ctx, "/api/v1/pipeline-runs/"+url.PathEscape(id), &out)
}

// RunPipeline queues a run of app's pipeline.
func (c *Client) RunPipeline(ctx context.Context, app string, r PipelineRunRequest) (PipelineRun, error) {
	var out PipelineRun
	return out, c.postJSON(ctx, "/api/v1/apps/"+url.PathEscape(app)+"/pipeline/runs", r, &out)
}

// ApprovePipeline passes the approval gate of app's run waiting at one.
func (c *Client) ApprovePipeline(ctx context.Context, app string) (PipelineRun, error) {
	var out PipelineRun
	return out, c.postJSON(ctx, "/api/v1/apps/"+url.PathEscape(app)+"/pipeline/approve", struct{}{}, &out)
}

// PipelineLog returns a stage's whole log, secrets masked.
func (c *Client) PipelineLog(ctx context.Context, id, stage string) (string, error) {
	var out struct {
		Log string `json:"log"`
	}
	return out.Log, c.get(ctx, "/api/v1/pipeline-runs/"+url.PathEscape(id)+"/logs/"+url.PathEscape(stage), &out)
}
