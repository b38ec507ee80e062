package main

import (
	"slices"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/urfave/cli/v2"
)

// applyConfig sets every flag of c's command that the command line did not
// set from the JSON config file at path ("": none); see
// agent.ApplyConfigFile.
func applyConfig(c *cli.Context, path string) error {
	if path == "" {
		return nil
	}
	var names []string
	for _, f := range c.Command.Flags {
		names = append(names, f.Names()...)
	}
	return agent.ApplyConfigFile(path, func(k string) bool { return slices.Contains(names, k) }, c.IsSet, c.Set)
}
