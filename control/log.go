package control

// Log attribute keys, in one place so every line names things the same way.
const (
	keySandbox = "sandbox_id"
	keyRunner  = "runner_id"
	keyJob     = "job_id"
	keyKind    = "kind"
	keyStatus  = "status"
	keyErr     = "err"
)
