//go:build !unix

package main

import "os"

// stopSignals end training at the next update with a checkpoint: Ctrl-C.
var stopSignals = []os.Signal{os.Interrupt}
