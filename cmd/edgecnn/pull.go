//go:build !board

package main

import (
	"errors"
	"fmt"

	"github.com/edgecnn/edgecnn/deploy"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func pullCommand() *cli.Command {
	var req deploy.PullRequest
	return &cli.Command{
		Name:      "pull",
		Usage:     "copy the frames a board collected (run --collect) and its labelled crops to this machine",
		ArgsUsage: "DIR",
		Description: `Copies --remote-dir from the board into DIR over SSH/SFTP (the same keys and known_hosts
as flash): inbox/ (frames, 28×28 crops, JSON sidecars), skipped/ and labelled/<label>/ (an image
folder for train --data). Incremental: files already here with the same size and time are skipped,
same-size files with another time are compared by SHA-256 first. Nothing is deleted on either side.`,
		Flags: cliflags.Flags(&req),
		Action: cliflags.Action(&req, func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("pull: want one argument, the local directory (e.g. edgecnn pull --host pi@board field)")
			}
			dir := c.Args().First()
			t, res, err := deploy.PullFrom(c.Context, req, dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "pulled %s:%s into %s: %d files, %d fetched (%d bytes), %d up to date, %d vanished meanwhile\n",
				t, req.RemoteDir, dir, res.Files, res.Fetched, res.Bytes, res.Skipped+res.Verified, res.Vanished)
			return nil
		}),
	}
}
