package store

import (
	"context"
	"time"
)

// dueTimer is the reusable timer of a blocking read (Next, PendingReports)
// that wakes for a signal or for the next due time, whichever comes first.
type dueTimer struct{ t *time.Timer }

// after returns a channel that fires after d, reusing the timer.
func (d *dueTimer) after(delay time.Duration) <-chan time.Time {
	if d.t == nil {
		d.t = time.NewTimer(delay)
	} else {
		d.t.Reset(delay)
	}
	return d.t.C
}

func (d *dueTimer) stop() {
	if d.t != nil {
		d.t.Stop()
	}
}

// wake blocks until ctx ends, the store stops, wait is signalled or due
// fires (a nil due never fires). It reports whether the store has stopped.
func (s *Store) wake(ctx context.Context, wait <-chan struct{}, due <-chan time.Time) (stopped bool) {
	select {
	case <-ctx.Done():
	case <-s.stop:
	case <-wait:
	case <-due:
	}
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}
