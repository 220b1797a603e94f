package mqtt

import (
	"bytes"
	"sync"
	"time"
)

// workerIdle is how long a worker waits for another job before it ends.
const workerIdle = 2 * time.Second

// job is work for a worker: a connection's packet burst (serve.go), a
// session's deliveries to write (deliver.go), a connection's due acks
// (publish.go).
type job interface {
	runOn(w *worker)
}

// worker is one worker goroutine's scratch space, kept from job to job.
type worker struct {
	batch []prepared
	buf   bytes.Buffer
}

// maxKeptBuffer bounds the write buffer a worker keeps after a job: a
// large message must not pin its size in every worker.
const maxKeptBuffer = 1 << 20

// workers run the front-end's jobs. A worker outlives its job for a while
// and takes the next one, so that a job finds a goroutine whose stack has
// already grown to what mochi's packet handling needs, and scratch buffers
// already grown to a batch, rather than a new goroutine that grows them
// again (a tenth of the CPU of a busy QoS 1 flow, the stacks alone). A job
// never waits for a free worker: without one idle, a new worker starts, so
// a job that blocks (a publisher held by flow control, a packet arriving
// slowly, a slow client's write) holds up no other.
type workers struct {
	jobs chan job // unbuffered: a send succeeds only into an idle worker
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.RWMutex // held for reading to start a job, for writing to close
	closed bool
	once   sync.Once
}

func newWorkers() *workers {
	return &workers{jobs: make(chan job), stop: make(chan struct{})}
}

// run runs j on a worker, unless the workers are closed.
func (ws *workers) run(j job) bool {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	if ws.closed {
		return false
	}
	select {
	case ws.jobs <- j:
	default:
		ws.wg.Add(1)
		go ws.work(j)
	}
	return true
}

func (ws *workers) work(j job) {
	defer ws.wg.Done()
	w := &worker{}
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		j.runOn(w) // it clears what it used of w.batch
		if w.buf.Cap() > maxKeptBuffer {
			w.buf = bytes.Buffer{}
		}
		w.buf.Reset()
		idle.Reset(workerIdle)
		select {
		case j = <-ws.jobs:
		case <-idle.C:
			return
		case <-ws.stop:
			return
		}
	}
}

// close refuses new jobs, ends the idle workers and waits for the busy ones
// to finish theirs.
func (ws *workers) close() {
	ws.once.Do(func() {
		ws.mu.Lock()
		ws.closed = true
		ws.mu.Unlock()
		close(ws.stop)
	})
	ws.wg.Wait()
}
