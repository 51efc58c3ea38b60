// Command mlscale autoscales ML workloads on Kubernetes: it generates HPA and
// KEDA manifests, simulates them, evaluates controller decisions and
// diagnoses live clusters. All logic lives under internal/.
package main

import (
	"os"

	"github.com/mlscale/mlscale/internal/cli"
)

func main() {
	os.Exit(cli.Main())
}
