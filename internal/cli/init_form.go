package cli

import (
	"fmt"

	"github.com/mlscale/mlscale/internal/profile"
)

// runInitForm asks init's questions on a terminal.
func runInitForm(defaults profile.InitOptions) (profile.InitOptions, error) {
	return defaults, fmt.Errorf("interactive form not available yet: pass --preset")
}
