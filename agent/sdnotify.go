package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends sd_notify(3) messages to systemd over the datagram
// socket named by NOTIFY_SOCKET. A nil *Notifier does nothing, so code
// can call it unconditionally.
type Notifier struct {
	addr *net.UnixAddr
}

// NotifierFromEnv returns a Notifier for $NOTIFY_SOCKET, or nil when the
// variable is unset (not started by systemd with Type=notify).
func NotifierFromEnv() (*Notifier, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil, nil
	}
	if path[0] != '/' && path[0] != '@' {
		return nil, fmt.Errorf("agent: NOTIFY_SOCKET %q is neither a path nor an abstract socket (@name)", path)
	}
	return &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}, nil
}

// Notify sends one message, e.g. "READY=1" or "WATCHDOG=1".
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("agent: sd_notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("agent: sd_notify: %w", err)
	}
	return nil
}

// WatchdogInterval returns how often to send WATCHDOG=1 (half of
// $WATCHDOG_USEC), or 0 when the watchdog is off or meant for another
// process ($WATCHDOG_PID).
func WatchdogInterval() (time.Duration, error) {
	us := os.Getenv("WATCHDOG_USEC")
	if us == "" {
		return 0, nil
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, nil
	}
	v, err := strconv.ParseInt(us, 10, 64)
	if err != nil || v <= 0 {
		return 0, errors.New("agent: WATCHDOG_USEC " + strconv.Quote(us) + " is not a positive integer")
	}
	return time.Duration(v) * time.Microsecond / 2, nil
}
