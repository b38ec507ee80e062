package main

import (
	"github.com/edgecnn/edgecnn/deploy/healthgate"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "healthcheck",
		Usage: "wait until the agent's /healthz answers 2xx (the deployed unit's ExecStartPost= health gate)",
		Description: `Fetches --url until it answers 2xx; exits non-zero when --timeout passes first. The unit
that flash installs runs it after every start: a release that does not become healthy counts as
a failed start, and after StartLimitBurst= of them the board rolls back to the last good release.

EXAMPLES:
   edgecnn healthcheck --url http://127.0.0.1:8080/healthz --timeout 30s`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Value: "http://127.0.0.1:8080/healthz", Usage: "health URL (http or https)"},
			&cli.DurationFlag{Name: "timeout", Value: healthgate.DefaultTimeout, Usage: "how long to wait for a 2xx answer"},
		},
		Action: func(c *cli.Context) error {
			return healthgate.Wait(c.Context, c.String("url"), healthgate.Options{Timeout: c.Duration("timeout")})
		},
	})
}
