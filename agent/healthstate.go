package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"
)

// healthState is what /healthz reports, kept in one page of memory. The
// agent writes it with atomic stores as things happen (a frame arrives, the
// camera fails); with a health responder (see HealthAddr) that page is
// shared memory the responder process maps too, so it answers from the
// same state at the same moment without asking the agent anything.
//
// Layout (64-bit words, native byte order): the words below, the fatal
// error message at fatalOff, and static JSON (the engine placement, the
// Host allow-list) at staticOff, written once before the responder starts.
type healthState struct {
	page []byte
}

const (
	healthPageSize = 4096

	wMagic     = 0 // healthMagic once initialised
	wBeat      = 1 // unix nanos of the agent's last heartbeat
	wLastGood  = 2 // unix nanos of the last good camera frame (0: none yet)
	wFlags     = 3 // flagCamera | flagHealthy | flagFatal
	wStale     = 4 // StaleAfter in nanoseconds (0: never stale)
	wBadFrames = 5 // bad frames skipped so far
	wFatalLen  = 6 // bytes of the fatal message at fatalOff
	wStaticLen = 7 // bytes of the static JSON at staticOff

	fatalOff, fatalMax   = 128, 896
	staticOff, staticMax = 1024, healthPageSize - 1024

	flagCamera  = 1 // the agent has a camera (else always healthy)
	flagHealthy = 2 // the camera delivered a frame since it was (re)opened
	flagFatal   = 4 // the camera failed for good; the message is at fatalOff

	healthMagic = 0x31544c48_4e434345 // "ECCNHLT1"
)

// healthStatic is the part of /healthz that does not change while the
// agent runs.
type healthStatic struct {
	Engine     json.RawMessage `json:"engine,omitempty"`
	AllowHosts []string        `json:"allow_hosts"`
}

// newHealthState initialises page (healthPageSize bytes, 8-byte aligned;
// nil: a private one).
func newHealthState(page []byte, camera bool, stale time.Duration, static healthStatic) (*healthState, error) {
	if page == nil {
		page = make([]byte, healthPageSize)
	}
	h := &healthState{page: page}
	js, err := json.Marshal(static)
	if err != nil {
		return nil, err
	}
	if len(js) > staticMax {
		return nil, fmt.Errorf("health state: %d bytes of static data, at most %d", len(js), staticMax)
	}
	copy(page[staticOff:], js)
	atomic.StoreInt64(h.word(wStaticLen), int64(len(js)))
	atomic.StoreInt64(h.word(wStale), int64(stale))
	var flags int64 = flagHealthy
	if camera {
		flags = flagCamera
	}
	atomic.StoreInt64(h.word(wFlags), flags)
	h.heartbeat()
	atomic.StoreInt64(h.word(wMagic), healthMagic)
	return h, nil
}

// openHealthState checks a page that an agent initialised.
func openHealthState(page []byte) (*healthState, error) {
	if len(page) < healthPageSize {
		return nil, fmt.Errorf("health state: %d bytes, want %d", len(page), healthPageSize)
	}
	h := &healthState{page: page}
	if atomic.LoadInt64(h.word(wMagic)) != healthMagic {
		return nil, errors.New("health state: not initialised by an agent of this version")
	}
	return h, nil
}

func (h *healthState) word(i int) *int64 {
	return (*int64)(unsafe.Pointer(&h.page[i*8]))
}

func (h *healthState) heartbeat() { atomic.StoreInt64(h.word(wBeat), time.Now().UnixNano()) }

func (h *healthState) setHealthy(ok bool) {
	if ok {
		atomic.OrInt64(h.word(wFlags), flagHealthy)
	} else {
		atomic.AndInt64(h.word(wFlags), ^int64(flagHealthy))
	}
}

func (h *healthState) healthy() bool { return atomic.LoadInt64(h.word(wFlags))&flagHealthy != 0 }

func (h *healthState) frameOK()  { atomic.StoreInt64(h.word(wLastGood), time.Now().UnixNano()) }
func (h *healthState) badFrame() { atomic.AddInt64(h.word(wBadFrames), 1) }

// setFatal records the error that ended the camera for good (once).
func (h *healthState) setFatal(msg string) {
	if atomic.LoadInt64(h.word(wFlags))&flagFatal != 0 {
		return
	}
	if len(msg) > fatalMax {
		msg = msg[:fatalMax]
	}
	n := copy(h.page[fatalOff:fatalOff+fatalMax], msg)
	atomic.StoreInt64(h.word(wFatalLen), int64(n))
	atomic.OrInt64(h.word(wFlags), flagFatal)
}

// healthSnap is one reading of the state.
type healthSnap struct {
	camera, healthy bool
	fatal           string
	lastGood        int64
	stale           time.Duration
	badFrames       int64
	beat            time.Time
}

func (h *healthState) snap() healthSnap {
	f := atomic.LoadInt64(h.word(wFlags))
	s := healthSnap{camera: f&flagCamera != 0, healthy: f&flagHealthy != 0,
		lastGood: atomic.LoadInt64(h.word(wLastGood)), stale: time.Duration(atomic.LoadInt64(h.word(wStale))),
		badFrames: atomic.LoadInt64(h.word(wBadFrames)), beat: time.Unix(0, atomic.LoadInt64(h.word(wBeat)))}
	if f&flagFatal != 0 {
		n := min(max(atomic.LoadInt64(h.word(wFatalLen)), 0), fatalMax)
		s.fatal = string(h.page[fatalOff : fatalOff+int(n)])
	}
	return s
}

func (h *healthState) static() (healthStatic, error) {
	var st healthStatic
	n := min(max(atomic.LoadInt64(h.word(wStaticLen)), 0), staticMax)
	err := json.Unmarshal(h.page[staticOff:staticOff+int(n)], &st)
	return st, err
}

// eval tells the truth about the frame source at now: healthy once the
// source delivered a frame since it was (re)opened, and not while it is
// reconnecting, has failed for good, or has been silent longer than the
// stale limit.
func (s healthSnap) eval(now time.Time) (bool, string) {
	if !s.camera {
		return true, ""
	}
	if s.fatal != "" {
		return false, s.fatal
	}
	if !s.healthy {
		if s.lastGood == 0 {
			return false, "waiting for the first camera frame"
		}
		return false, "camera reconnecting"
	}
	if s.stale > 0 {
		if age := now.Sub(time.Unix(0, s.lastGood)); age > s.stale {
			return false, fmt.Sprintf("no camera frame for %.1f s", age.Seconds())
		}
	}
	return true, ""
}

// healthBody is the JSON body of /healthz.
func (s healthSnap) body(ok bool, reason string, engine json.RawMessage) map[string]any {
	body := map[string]any{"status": "ok"}
	if !ok {
		body["status"], body["reason"] = "unhealthy", reason
	}
	if s.camera {
		body["bad_frames"] = s.badFrames
	}
	if len(engine) > 0 {
		body["engine"] = engine
	}
	return body
}
