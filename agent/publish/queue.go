package publish

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// Queue is a durable, bounded FIFO of records on disk. Each Append is
// written to the end of a segment file and fsynced before it returns, so a
// record whose Append returned nil survives kill -9 and power loss. Records
// leave the queue in order, only through Ack (after the sink confirmed
// them) or, when the queue is full, by dropping the oldest (counted).
//
// On disk: DIR/head holds the sequence number of the oldest record not yet
// acknowledged (written atomically); DIR/<first-seq>.seg are segment files
// of records, each
//
//	uint32 length | uint32 CRC-32C(seq ‖ payload) | uint64 seq | payload
//
// (little endian). At open a torn or corrupt tail is cut off; records
// after a corrupt one in the same segment are counted as lost.
//
// A Queue is safe for concurrent use.
type Queue struct {
	dir  string
	opt  QueueOptions
	mu   sync.Mutex
	head uint64 // oldest unacknowledged seq
	next uint64 // seq of the next Append
	recs []record
	size int64 // payload bytes in recs

	seg     *os.File // current segment, opened for append
	segSize int64
	segs    []uint64 // first seqs of the segment files, ascending

	dropped uint64
	lost    uint64 // records found corrupt at open

	headSaved time.Time // when head was last written
	headDirty bool      // head advanced since
	ready     chan struct{}
	closed    bool
	lock      *os.File // flock on dir/lock (nil where unsupported)
}

type record struct {
	seq     uint64
	payload []byte
}

// QueueOptions bound a Queue.
type QueueOptions struct {
	MaxBytes   int64 // payload bytes kept (default 8 MiB); beyond it the oldest records are dropped
	MaxRecords int   // records kept (default 100000)
	SegBytes   int64 // roll to a new segment file beyond this size (default 1 MiB)
	// HeadEvery is how often acknowledgements are written to disk at most
	// (default 250 ms; negative: every time).
	HeadEvery time.Duration
}

const (
	recHeader  = 16
	maxPayload = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrQueueClosed is returned by operations on a closed Queue.
var ErrQueueClosed = errors.New("publish: queue closed")

// OpenQueue opens (creating it if needed) the queue in dir, recovering the
// records that were appended and not acknowledged.
func OpenQueue(dir string, opt QueueOptions) (*Queue, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 8 << 20
	}
	if opt.MaxRecords <= 0 {
		opt.MaxRecords = 100000
	}
	if opt.SegBytes <= 0 {
		opt.SegBytes = 1 << 20
	}
	if opt.HeadEvery == 0 {
		opt.HeadEvery = 250 * time.Millisecond
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("publish: queue: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	q := &Queue{dir: dir, opt: opt, ready: make(chan struct{}, 1), lock: lock}
	ok := false
	defer func() {
		if !ok {
			q.closeFiles()
		}
	}()
	if err := q.load(); err != nil {
		return nil, fmt.Errorf("publish: queue %s: %w", dir, err)
	}
	// Trim to the bounds (they may have shrunk since the last run).
	for len(q.recs) > 0 && (q.size > opt.MaxBytes || len(q.recs) > opt.MaxRecords) {
		q.dropFront()
	}
	if err := q.saveHead(); err != nil {
		return nil, err
	}
	if err := q.openSegment(); err != nil {
		return nil, err
	}
	if len(q.recs) > 0 {
		q.signal()
	}
	ok = true
	return q, nil
}

func (q *Queue) load() error {
	b, err := os.ReadFile(filepath.Join(q.dir, "head"))
	switch {
	case err == nil:
		f := strings.Fields(string(b))
		if len(f) != 2 {
			return fmt.Errorf("head file: %q: want \"<seq> <dropped>\"", b)
		}
		if q.head, err = strconv.ParseUint(f[0], 10, 64); err != nil {
			return fmt.Errorf("head file: %w", err)
		}
		if q.dropped, err = strconv.ParseUint(f[1], 10, 64); err != nil {
			return fmt.Errorf("head file: %w", err)
		}
	case errors.Is(err, os.ErrNotExist):
		q.head = 1
	default:
		return err
	}
	q.next = q.head
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		s, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		q.segs = append(q.segs, s)
	}
	slices.Sort(q.segs)
	for i, s := range q.segs {
		if err := q.loadSegment(s, i == len(q.segs)-1); err != nil {
			return err
		}
	}
	return nil
}

// loadSegment reads one segment's records; a torn or corrupt record ends
// the segment, which is truncated there.
func (q *Queue) loadSegment(first uint64, last bool) error {
	path := q.segPath(first)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var off int64
	hdr := make([]byte, recHeader)
	for firstInSeg := true; ; firstInSeg = false {
		if _, err := f.ReadAt(hdr, off); err != nil {
			break // end of file, or a torn header
		}
		n := binary.LittleEndian.Uint32(hdr[0:])
		sum := binary.LittleEndian.Uint32(hdr[4:])
		seq := binary.LittleEndian.Uint64(hdr[8:])
		if n > maxPayload || off+recHeader+int64(n) > st.Size() {
			break
		}
		p := make([]byte, n)
		if _, err := f.ReadAt(p, off+recHeader); err != nil {
			break
		}
		if crc32.Update(crc32.Checksum(hdr[8:16], castagnoli), castagnoli, p) != sum {
			break
		}
		if seq < q.next && seq >= q.head {
			break // not increasing: corrupt
		}
		if seq >= q.head {
			if len(q.recs) > 0 && seq != q.next {
				if !firstInSeg {
					break // a gap inside a segment: corrupt
				}
				// the end of the previous segment was cut (counted there)
			}
			q.recs = append(q.recs, record{seq, p})
			q.size += int64(n)
			q.next = seq + 1
		}
		off += recHeader + int64(n)
	}
	if off < st.Size() {
		// Count the records lost after a corrupt one (a torn tail of the
		// last segment is the normal result of a crash mid-write: that
		// Append never returned, so nothing acknowledged is lost).
		if !last {
			q.lost++
		}
		if err := f.Truncate(off); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) segPath(first uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%016x.seg", first))
}

func (q *Queue) writeHead() error {
	s := fmt.Sprintf("%d %d\n", q.head, q.dropped)
	if err := atomicfile.WriteFile(filepath.Join(q.dir, "head"), []byte(s), 0o600); err != nil {
		return fmt.Errorf("publish: queue: %w", err)
	}
	return nil
}

// openSegment opens the last segment for appending, or starts one.
func (q *Queue) openSegment() error {
	if len(q.segs) == 0 {
		return q.newSegment()
	}
	f, err := os.OpenFile(q.segPath(q.segs[len(q.segs)-1]), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("publish: queue: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("publish: queue: %w", err)
	}
	q.seg, q.segSize = f, st.Size()
	return nil
}

func (q *Queue) newSegment() error {
	f, err := os.OpenFile(q.segPath(q.next), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("publish: queue: %w", err)
	}
	if d, err := os.Open(q.dir); err == nil {
		d.Sync()
		d.Close()
	}
	if q.seg != nil {
		q.seg.Close()
	}
	q.seg, q.segSize = f, 0
	q.segs = append(q.segs, q.next)
	return nil
}

// removeDeadSegments deletes segment files whose records are all below
// head (never the current one).
func (q *Queue) removeDeadSegments() {
	for len(q.segs) > 1 && q.segs[1] <= q.head {
		os.Remove(q.segPath(q.segs[0]))
		q.segs = q.segs[1:]
	}
}

func (q *Queue) dropFront() {
	q.size -= int64(len(q.recs[0].payload))
	q.head = q.recs[0].seq + 1
	q.recs[0] = record{}
	q.recs = q.recs[1:]
	q.dropped++
}

// Append adds payload at the end of the queue and returns its sequence
// number once it is on disk. When the queue is full the oldest records are
// dropped first (see Dropped). On a write error (a full disk) nothing is
// appended and the segment is left as it was.
func (q *Queue) Append(payload []byte) (uint64, error) {
	if len(payload) > maxPayload || int64(len(payload)) > q.opt.MaxBytes {
		return 0, fmt.Errorf("publish: queue: record of %d bytes above the limit", len(payload))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, ErrQueueClosed
	}
	if q.segSize >= q.opt.SegBytes {
		if err := q.newSegment(); err != nil {
			return 0, err
		}
	}
	seq := q.next
	buf := make([]byte, recHeader+len(payload))
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(buf[8:], seq)
	copy(buf[recHeader:], payload)
	binary.LittleEndian.PutUint32(buf[4:], crc32.Update(crc32.Checksum(buf[8:16], castagnoli), castagnoli, payload))
	if _, err := q.seg.Write(buf); err != nil {
		q.seg.Truncate(q.segSize)
		return 0, fmt.Errorf("publish: queue: append: %w", err)
	}
	if err := q.seg.Sync(); err != nil {
		q.seg.Truncate(q.segSize)
		return 0, fmt.Errorf("publish: queue: fsync: %w", err)
	}
	q.segSize += int64(len(buf))
	q.next = seq + 1
	q.recs = append(q.recs, record{seq, slices.Clone(payload)})
	q.size += int64(len(payload))
	dropped := false
	for len(q.recs) > 1 && (q.size > q.opt.MaxBytes || len(q.recs) > q.opt.MaxRecords) {
		q.dropFront()
		dropped = true
	}
	if dropped {
		if err := q.saveHead(); err != nil {
			return seq, err
		}
	}
	q.signal()
	return seq, nil
}

// Front returns the oldest record, if any.
func (q *Queue) Front() (seq uint64, payload []byte, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.recs) == 0 {
		return 0, nil, false
	}
	return q.recs[0].seq, q.recs[0].payload, true
}

// Ack removes the record seq (and anything older) from the queue, durably.
// Acknowledging a record that was already dropped or acknowledged is a
// no-op.
func (q *Queue) Ack(seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrQueueClosed
	}
	if seq < q.head {
		return nil
	}
	for len(q.recs) > 0 && q.recs[0].seq <= seq {
		q.size -= int64(len(q.recs[0].payload))
		q.recs[0] = record{}
		q.recs = q.recs[1:]
	}
	q.head = seq + 1
	q.headDirty = true
	// Writing head is what keeps a delivered record from being sent again
	// after a crash; it is not needed to lose nothing. So it is written at
	// most every HeadEvery (and at Close), not once per record: a crash
	// may repeat up to HeadEvery's worth of readings (at least once).
	if time.Since(q.headSaved) < q.opt.HeadEvery {
		return nil
	}
	return q.saveHead()
}

func (q *Queue) saveHead() error {
	if err := q.writeHead(); err != nil {
		return err
	}
	q.headSaved, q.headDirty = time.Now(), false
	q.removeDeadSegments()
	return nil
}

// Ready is signalled after each Append (and at open when records are
// waiting); receive from it to wait for work.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Len is the number of records waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.recs)
}

// Dropped is the number of records dropped because the queue was full,
// over the queue's whole life (persisted).
func (q *Queue) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// Lost is the number of segments found corrupt (not merely torn at the
// end) when the queue was opened.
func (q *Queue) Lost() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lost
}

// Close closes the queue's files; the records stay on disk.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	var err error
	if q.headDirty {
		err = q.saveHead()
	}
	return errors.Join(err, q.closeFiles())
}

func (q *Queue) closeFiles() error {
	var err error
	if q.seg != nil {
		err = q.seg.Close()
	}
	if q.lock != nil {
		q.lock.Close()
	}
	return err
}

var _ io.Closer = (*Queue)(nil)
