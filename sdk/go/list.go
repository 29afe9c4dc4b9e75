package codepod

import (
	"context"

	"github.com/codepod-dev/codepod/client"
)

// ListOptions filter ListSandboxes.
type ListOptions struct {
	Status []string          // only these statuses, e.g. StatusRunning
	Labels map[string]string // only sandboxes carrying all these labels
	All    bool              // every user's (admins only)
}

// ListSandboxes returns your sandboxes (not deleted ones), oldest first,
// following the pages to the end.
func (c *Client) ListSandboxes(ctx context.Context, opts *ListOptions) ([]SandboxInfo, error) {
	params := client.ListSandboxesParams{}
	if opts != nil {
		if len(opts.Status) > 0 {
			params.Status = &opts.Status
		}
		var labels []string
		for k, v := range opts.Labels {
			labels = append(labels, k+"="+v)
		}
		if len(labels) > 0 {
			params.Label = &labels
		}
		if opts.All {
			params.All = &opts.All
		}
	}
	limit := int64(500)
	params.Limit = &limit
	var all []SandboxInfo
	for {
		page, err := decode[client.ListSandbox](c.check(c.api.ListSandboxes(ctx, &params)))
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		params.Cursor = &page.NextCursor
	}
}
