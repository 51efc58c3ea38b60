package tune

import (
	"testing"

	"github.com/mlscale/mlscale/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
