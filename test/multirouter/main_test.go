package multirouter

import (
	"os"
	"testing"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestMain: the test binary is also the load generator run inside a namespace.
func TestMain(m *testing.M) {
	if os.Getenv(envLoadURL) != "" {
		os.Exit(loadMain())
	}
	sampletest.BinaryMain(m)
}
