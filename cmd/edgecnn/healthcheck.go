package main

import (
	"github.com/edgecnn/edgecnn/deploy/healthgate"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func healthcheckCommand() *cli.Command {
	var o struct {
		URL string `flag:"url" default:"http://127.0.0.1:8080/healthz" usage:"health URL (http or https)"`
		healthgate.Options
	}
	o.Timeout = healthgate.DefaultTimeout
	return &cli.Command{
		Name:  "healthcheck",
		Usage: "wait until the agent's /healthz answers 2xx (the deployed unit's ExecStartPost= health gate)",
		Description: `Fetches --url until it answers 2xx; exits non-zero when --timeout passes first. The unit
that flash installs runs it after every start: a release that does not become healthy counts as
a failed start, and after StartLimitBurst= of them the board rolls back to the last good release.

EXAMPLES:
   edgecnn healthcheck --url http://127.0.0.1:8080/healthz --timeout 30s`,
		Flags: cliflags.Flags(&o),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			return healthgate.Wait(c.Context, o.URL, o.Options)
		}),
	}
}
