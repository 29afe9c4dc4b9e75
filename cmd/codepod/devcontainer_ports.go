package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/client"
)

// sandboxDevcontainer is what the sandbox keeps of its devcontainer.json
// (nil for other sandboxes).
func sandboxDevcontainer(sb *client.Sandbox) *codepod.DevcontainerSpec {
	if sb == nil || sb.Devcontainer == nil {
		return nil
	}
	b, err := json.Marshal(*sb.Devcontainer)
	if err != nil {
		return nil
	}
	var d codepod.DevcontainerSpec
	if json.Unmarshal(b, &d) != nil {
		return nil
	}
	return &d
}

// sandboxPorts are the sandbox's forwardPorts and their attributes.
func sandboxPorts(sb *client.Sandbox) ([]string, map[string]codepod.PortAttributes) {
	d := sandboxDevcontainer(sb)
	if d == nil {
		return nil, nil
	}
	return d.ForwardPorts, d.PortsAttributes
}

// devcontainerRows are `sandbox get`'s lines about its devcontainer.
func devcontainerRows(sb *client.Sandbox) [][]string {
	d := sandboxDevcontainer(sb)
	if d == nil {
		return nil
	}
	var rows [][]string
	if len(d.ForwardPorts) > 0 {
		var ports []string
		for _, p := range d.ForwardPorts {
			a := d.PortsAttributes[p]
			desc := p
			var extra []string
			for _, s := range []string{a.Label, a.Protocol, a.OnAutoForward} {
				if s != "" {
					extra = append(extra, s)
				}
			}
			if len(extra) > 0 {
				desc += " (" + strings.Join(extra, ", ") + ")"
			}
			ports = append(ports, desc)
		}
		rows = append(rows, []string{"Forward ports", strings.Join(ports, ", ")})
	}
	user := d.RemoteUser
	if user == "" {
		user = d.ContainerUser
	}
	if user != "" {
		rows = append(rows, []string{"Remote user", user})
	}
	if d.WorkspaceFolder != "" {
		rows = append(rows, []string{"Workspace", d.WorkspaceFolder})
	}
	if len(d.Filtered) > 0 {
		rows = append(rows, []string{"Filtered", fmt.Sprintf("%s (dropped by the server's devcontainer policy)", strings.Join(d.Filtered, ", "))})
	}
	return rows
}
