package main

import (
	"time"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "healthcheck",
		Usage: "exit 0 if a running edgecnn run answers its /healthz (the container image's HEALTHCHECK)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Value: "http://127.0.0.1:8080/healthz", Usage: "health URL of the agent"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "give up after this long"},
		},
		Action: func(c *cli.Context) error {
			return agent.Probe(c.Context, c.String("url"), c.Duration("timeout"))
		},
	})
}
