//go:build !board

package main

import (
	"errors"
	"fmt"

	"github.com/edgecnn/edgecnn/deploy"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "pull",
		Usage:     "copy the frames a board collected (run --collect) and its labelled crops to this machine",
		ArgsUsage: "DIR",
		Description: `Copies --remote-dir from the board into DIR over SSH/SFTP (the same keys and known_hosts
as flash): inbox/ (frames, 28×28 crops, JSON sidecars), skipped/ and labelled/<label>/ (an image
folder for train --data). Incremental: files already here with the same size and time are skipped,
same-size files with another time are compared by SHA-256 first. Nothing is deleted on either side.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "user@address[:port] of the board", Required: true},
			&cli.StringFlag{Name: "remote-dir", Value: deploy.DefaultCollectDir, Usage: "the board's collection directory (run --collect)"},
			&cli.IntFlag{Name: "port", Usage: "SSH port when --host has none (default 22)"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)"},
			&cli.StringFlag{Name: "known-hosts", Usage: "known_hosts file (default ~/.ssh/known_hosts)"},
			&cli.BoolFlag{Name: "accept-new-host-key", Usage: "trust and record the host key of a board seen for the first time (a changed key is always refused)"},
		},
		Action: pullAction,
	})
}

func pullAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("pull: want one argument, the local directory (e.g. edgecnn pull --host pi@board field)")
	}
	t, err := deploy.ParseTarget(c.String("host"))
	if err != nil {
		return fmt.Errorf("pull: --host: %w", err)
	}
	if t.Port == 0 {
		t.Port = c.Int("port")
	}
	conn, err := deploy.Dial(c.Context, t, deploy.SSHOptions{KnownHosts: c.String("known-hosts"),
		AcceptNewHostKey: c.Bool("accept-new-host-key"), Identity: c.String("identity")})
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	defer conn.Close()
	res, err := deploy.Pull(c.Context, conn, c.String("remote-dir"), c.Args().First(), nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "pulled %s:%s into %s: %d files, %d fetched (%d bytes), %d up to date, %d vanished meanwhile\n",
		t, c.String("remote-dir"), c.Args().First(), res.Files, res.Fetched, res.Bytes, res.Skipped+res.Verified, res.Vanished)
	return nil
}
