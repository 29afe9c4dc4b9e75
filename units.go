package codepod

import (
	"fmt"
	"strconv"
	"strings"
)

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "ti": 1 << 40, "tib": 1 << 40,
}

// ParseBytes parses a size the way docker --memory does: "512m", "1g",
// "1.5GiB", "1048576". Units are binary (k = 1024).
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult, ok := byteUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 || num == "" {
		return 0, Errorf(EINVALID, "size %q must be a number with an optional unit (b, k, m, g, t), e.g. 512m", s)
	}
	v := f * float64(mult)
	if v > 1<<62 {
		return 0, Errorf(EINVALID, "size %q is too large", s)
	}
	return int64(v), nil
}

// FormatBytes renders n with the largest binary unit that divides it evenly
// (or one decimal): 536870912 → "512m".
func FormatBytes(n int64) string {
	for _, u := range []struct {
		s string
		v int64
	}{{"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n >= u.v {
			if n%u.v == 0 {
				return fmt.Sprintf("%d%s", n/u.v, u.s)
			}
			return fmt.Sprintf("%.1f%s", float64(n)/float64(u.v), u.s)
		}
	}
	return fmt.Sprintf("%db", n)
}
