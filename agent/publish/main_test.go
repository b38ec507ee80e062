package publish

import (
	"os"
	"testing"
)

// TestMain doubles as the child processes that tests kill with SIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("EDGECNN_QUEUE_CHILD"); dir != "" {
		queueChild(dir)
		os.Exit(0)
	}
	if url := os.Getenv("EDGECNN_MQTT_CHILD"); url != "" {
		mqttChild(url)
		os.Exit(0)
	}
	if dir := os.Getenv("EDGECNN_DISKFULL_CHILD"); dir != "" {
		diskFullChild(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
