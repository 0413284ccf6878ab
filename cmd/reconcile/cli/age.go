package cli

import (
	"fmt"
	"time"
)

// humanAge formats an age the way kubectl's AGE column does. A small
// negative age (clocks up to a second apart) reads as 0s; more is invalid.
func humanAge(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < -1:
		return "<invalid>"
	case s < 0:
		return "0s"
	case s < 120:
		return fmt.Sprintf("%ds", s)
	case d < 10*time.Minute:
		if m, r := s/60, s%60; r != 0 {
			return fmt.Sprintf("%dm%ds", m, r)
		}
		return fmt.Sprintf("%dm", s/60)
	case d < 3*time.Hour:
		return fmt.Sprintf("%dm", s/60)
	case d < 8*time.Hour:
		if h, m := s/3600, s%3600/60; m != 0 {
			return fmt.Sprintf("%dh%dm", h, m)
		}
		return fmt.Sprintf("%dh", s/3600)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", s/3600)
	case d < 8*24*time.Hour:
		if days, h := s/86400, s%86400/3600; h != 0 {
			return fmt.Sprintf("%dd%dh", days, h)
		}
		return fmt.Sprintf("%dd", s/86400)
	case d < 2*365*24*time.Hour:
		return fmt.Sprintf("%dd", s/86400)
	case d < 8*365*24*time.Hour:
		if y, days := s/86400/365, s/86400%365; days != 0 {
			return fmt.Sprintf("%dy%dd", y, days)
		}
		return fmt.Sprintf("%dy", s/86400/365)
	}
	return fmt.Sprintf("%dy", s/86400/365)
}

func ageSince(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return humanAge(now.Sub(t))
}
