package gateway

// WaitSpare is waitSpare, for the external tests.
var WaitSpare = waitSpare
