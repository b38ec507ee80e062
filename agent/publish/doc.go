// Package publish sends the agent's readings elsewhere: to an MQTT broker
// (with Home Assistant discovery and an availability topic) and to a
// webhook. Every sink has its own durable on-disk Queue, so nothing is lost
// while the broker or the web server is away: readings are delivered in
// order once it is back, and leave the queue only when the far side
// confirmed them (MQTT PUBACK, HTTP 2xx).
//
// Which readings are sent is decided first by the opt-in Plausibility
// rules for meter readers (monotonic, maximum step, K frames agreeing) and
// then by the Policy (on change, every reading, or at an interval).
//
// The package knows only the Reading type, nothing of cameras or models.
package publish
