package cli

import "fmt"

// Exit codes. `deploy --wait` maps each outcome of a deployment to its own code so scripts
// can branch on it; every other command exits ExitOK or ExitError.
const (
	ExitOK         = 0 // success; for deploy --wait: the deployment succeeded
	ExitError      = 1 // any error (bad flags, server unreachable, invalid spec, ...)
	ExitRolledBack = 2 // deploy --wait: green misbehaved and traffic went back to blue
	ExitFailed     = 3 // deploy --wait: green never served production traffic (e.g. never healthy)
	ExitAborted    = 4 // deploy --wait: someone aborted the deployment
	ExitApproval   = 5 // deploy --wait: the deployment waits at an approval gate
	ExitTimeout    = 6 // deploy --wait: --timeout passed first; the deployment goes on
)

// exitCodesHelp is the table above, for help texts.
const exitCodesHelp = `Exit status with --wait:
  0  succeeded
  1  any other error (the server could not be reached, the request was refused, ...)
  2  rolled_back: green misbehaved and all traffic is back on blue
  3  failed: green never served production traffic (e.g. it never became healthy)
  4  aborted
  5  waiting for approval: the deployment reached an approval gate and waits there;
     continue it with ` + "`cutover approve APP`" + ` (or end it with ` + "`cutover abort APP`" + `)
  6  --timeout passed before the deployment ended; it goes on in the server`

// exitError ends the command with code; msg, when set, is printed as "cutover: msg".
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }
