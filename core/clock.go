package core

import "time"

// nowFunc returns now, or time.Now when now is nil. Services take an
// injectable `Now func() time.Time` so expiry and caps are testable without
// sleeping.
func nowFunc(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// vnZone is Vietnam's time (UTC+7, no daylight saving): daily caps reset at
// local midnight.
func vnZone() *time.Location { return time.FixedZone("ICT", 7*3600) }

// dayKey names the local calendar day of t, "20261122".
func dayKey(t time.Time) string { return t.In(vnZone()).Format("20060102") }
