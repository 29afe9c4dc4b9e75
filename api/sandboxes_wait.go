package api

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
)

// MaxCreateWait caps the wait of POST /sandboxes?wait=…: long enough for
// an image pull, short enough for proxies that cut idle requests.
const MaxCreateWait = 5 * time.Minute

const createDescription = "Stores the sandbox as pending and queues it for a runner. " +
	"Without a fitting runner it waits in pending with a reason.\n\n" +
	"Without `wait` it answers at once (status pending or creating): poll GET /sandboxes/{id} until status is running. " +
	"With `wait` (e.g. `?wait=60s`, at most 5m) it answers when the sandbox runs, when it failed, or when the wait is over — " +
	"always 201 with the sandbox as it is then, because the sandbox exists either way and is yours to use or delete. " +
	"The `CodePod-Wait` header says how the wait ended: `running`; `failed` (status error, lost or deleted, " +
	"with the cause in `reason`: delete the sandbox, fix the cause and create it again); " +
	"or `timeout` (still pending, creating or starting: poll GET /sandboxes/{id}, or delete it). " +
	"Clients that treat a create as done only when the sandbox runs (as the E2B and Daytona SDKs do) " +
	"check `status == \"running\"`."

// parseWait reads the wait parameter: a Go duration (60s, 2m, 1m30s) or a
// number of seconds; "" and 0 mean no wait. Longer than MaxCreateWait is
// cut to it.
func parseWait(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil || math.IsNaN(secs) {
			return 0, codepod.Errorf(codepod.EINVALID, "wait %q is not a duration: use e.g. wait=60s, wait=2m or wait=60 (seconds)", v)
		}
		d = time.Duration(min(secs, MaxCreateWait.Seconds()) * float64(time.Second))
	}
	if d < 0 {
		return 0, codepod.Errorf(codepod.EINVALID, "wait %q is negative: use e.g. wait=60s, or leave it out to answer at once", v)
	}
	return min(d, MaxCreateWait), nil
}
