package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// retryAfter is a wait as whole seconds for a Retry-After header (at least 1).
func retryAfter(d time.Duration) int {
	return max(int(math.Ceil(d.Seconds())), 1)
}

// tooMany is a 429 problem with a Retry-After header; its detail says
// what was refused and when to try again.
func tooMany(wait time.Duration, detail string) error {
	secs := retryAfter(wait)
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(secs))
	return huma.ErrorWithHeaders(huma.NewError(http.StatusTooManyRequests,
		fmt.Sprintf("%s; retry in %d s (Retry-After)", detail, secs)), h)
}
