package docker

// DialPidNetns exposes dialPidNetns to the black-box attack tests.
var DialPidNetns = dialPidNetns

// ErrOwnNetns is the refusal to dial into the runner's own namespace.
var ErrOwnNetns = errOwnNetns
var ChooseChannel = chooseChannel

// Rebase exposes rebase to the workspace tests.
var Rebase = rebase
