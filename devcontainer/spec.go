package devcontainer

import (
	"encoding/json"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// ToSpec turns a substituted config into what a sandbox keeps of it
// (codepod.DevcontainerSpec). containerEnv is not part of it: it is the
// sandbox's environment (SandboxSpec.Env), set by the caller. Properties a
// server's policy decides on (privileged, capAdd, …) are carried over so
// the server refuses or filters them by name, never silently.
func ToSpec(c *Config) (*codepod.DevcontainerSpec, error) {
	d := &codepod.DevcontainerSpec{
		WaitFor: c.WaitFor, RemoteUser: c.RemoteUser, ContainerUser: c.ContainerUser,
		UpdateRemoteUserUID: c.UpdateRemoteUserUID, RemoteEnv: c.RemoteEnv,
		WorkspaceFolder: c.WorkspaceFolder, OverrideCommand: c.OverrideCommand,
		ShutdownAction: c.ShutdownAction, CapAdd: c.CapAdd, SecurityOpt: c.SecurityOpt, RunArgs: c.RunArgs,
		Privileged: c.Privileged != nil && *c.Privileged,
	}
	for _, h := range []struct {
		from *Command
		to   **codepod.LifecycleCommand
	}{
		{c.OnCreateCommand, &d.OnCreateCommand}, {c.UpdateContentCommand, &d.UpdateContentCommand},
		{c.PostCreateCommand, &d.PostCreateCommand}, {c.PostStartCommand, &d.PostStartCommand},
		{c.PostAttachCommand, &d.PostAttachCommand}, {c.InitializeCommand, &d.InitializeCommand},
	} {
		if h.from == nil {
			continue
		}
		lc, err := convertCommand(*h.from)
		if err != nil {
			return nil, err
		}
		*h.to = lc
	}
	for _, p := range c.ForwardPorts {
		d.ForwardPorts = append(d.ForwardPorts, p.String())
	}
	for k, a := range c.PortsAttributes {
		if d.PortsAttributes == nil {
			d.PortsAttributes = map[string]codepod.PortAttributes{}
		}
		d.PortsAttributes[k] = codepod.PortAttributes{Label: a.Label, Protocol: a.Protocol, OnAutoForward: a.OnAutoForward}
	}
	for _, m := range c.Mounts {
		d.Mounts = append(d.Mounts, codepod.DevcontainerMount{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	if hr := c.HostRequirements; hr != nil && (hr.CPUs > 0 || hr.Memory != "" || hr.Storage != "") {
		d.HostRequirements = &codepod.DevcontainerResources{CPUs: hr.CPUs}
		if hr.Memory != "" {
			n, err := codepod.ParseBytes(hr.Memory)
			if err != nil {
				return nil, fmt.Errorf("hostRequirements.memory %q: want a size such as 4gb", hr.Memory)
			}
			d.HostRequirements.MemoryBytes = n
		}
		if hr.Storage != "" {
			n, err := codepod.ParseBytes(hr.Storage)
			if err != nil {
				return nil, fmt.Errorf("hostRequirements.storage %q: want a size such as 32gb", hr.Storage)
			}
			d.HostRequirements.StorageBytes = n
		}
	}
	return d, nil
}

// convertCommand re-reads a command through its JSON form, which both
// types share.
func convertCommand(c Command) (*codepod.LifecycleCommand, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var lc codepod.LifecycleCommand
	if err := json.Unmarshal(b, &lc); err != nil {
		return nil, err
	}
	return &lc, nil
}
