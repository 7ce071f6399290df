package smscsim

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler runs delayed work (late responses, delayed receipts, the
// retransmit sweep) on one goroutine with one timer: no goroutine or timer
// per PDU. Tasks run in time order; a task must not block.
type scheduler struct {
	mu   sync.Mutex
	h    taskHeap
	n    uint64 // tie-breaker: equal times run in submission order
	wake chan struct{}
}

type task struct {
	at  time.Time
	n   uint64
	run func()
}

type taskHeap []task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].n < h[j].n
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = task{}
	*h = old[:len(old)-1]
	return t
}

func newScheduler() *scheduler {
	return &scheduler{wake: make(chan struct{}, 1)}
}

// at schedules fn to run at t (or as soon as possible if t has passed).
func (s *scheduler) at(t time.Time, fn func()) {
	s.mu.Lock()
	s.n++
	heap.Push(&s.h, task{at: t, n: s.n, run: fn})
	first := s.h[0].n == s.n
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// run executes due tasks until done is closed; pending tasks are dropped.
func (s *scheduler) run(done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []func()
	for {
		now := time.Now()
		wait := time.Hour
		s.mu.Lock()
		for len(s.h) > 0 {
			if d := s.h[0].at.Sub(now); d > 0 {
				wait = d
				break
			}
			due = append(due, heap.Pop(&s.h).(task).run)
		}
		s.mu.Unlock()
		for i, fn := range due {
			fn()
			due[i] = nil
		}
		due = due[:0]
		timer.Reset(wait)
		select {
		case <-done:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}
