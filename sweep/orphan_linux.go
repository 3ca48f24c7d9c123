package sweep

import (
	"os/exec"
	"syscall"
)

// stopWithParent asks Linux to send the child SIGINT (on which train saves a checkpoint) when the
// sweep process dies, even by SIGKILL, so no orphaned cell keeps writing into a folder that a
// rerun of the sweep is about to resume.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}
