package native

import "sync"

// workers is a fixed pool of goroutines that share the units of one step.
// The calling goroutine is worker 0; workers 1..n−1 wait on channels, so a
// parallel step allocates nothing.
type workers struct {
	n    int
	jobs []chan job
	wg   sync.WaitGroup
	quit sync.Once
}

type job struct {
	fn     func(w, lo, hi int)
	lo, hi int
}

func newWorkers(n int) *workers {
	p := &workers{n: n, jobs: make([]chan job, n-1)}
	for i := range p.jobs {
		ch := make(chan job)
		p.jobs[i] = ch
		go func(w int) {
			for j := range ch {
				j.fn(w, j.lo, j.hi)
				p.wg.Done()
			}
		}(i + 1)
	}
	return p
}

// run calls fn(w, lo, hi) over a partition of [0, units) into at most n
// contiguous ranges, one per worker, and waits for all of them.
func (p *workers) run(units int, fn func(w, lo, hi int)) {
	n := 1
	if p != nil {
		n = min(p.n, units)
	}
	if n <= 1 {
		fn(0, 0, units)
		return
	}
	p.wg.Add(n - 1)
	for i := 1; i < n; i++ {
		p.jobs[i-1] <- job{fn, i * units / n, (i + 1) * units / n}
	}
	fn(0, 0, units/n)
	p.wg.Wait()
}

func (p *workers) close() {
	p.quit.Do(func() {
		for _, ch := range p.jobs {
			close(ch)
		}
	})
}
