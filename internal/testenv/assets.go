package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	// KubernetesVersion is the version of kube-apiserver and
	// kube-controller-manager that hack/controlplane.sh builds (from
	// hack/k8sbin/go.mod; a unit test keeps the two in sync).
	KubernetesVersion = "v1.37.2"

	// KEDAVersion is the version of the KEDA operator and metrics server
	// that hack/controlplane.sh builds (from hack/kedabin/go.mod; a unit test
	// keeps the two, and the main go.mod's KEDA, in sync).
	KEDAVersion = "v2.20.2"

	// EnvSkip skips the integration tests when set to "1"; EnvSkipCluster
	// (the name issue 6 uses) is an alias. They are the only ways to skip.
	EnvSkip        = "MLSCALE_SKIP_INTEGRATION"
	EnvSkipCluster = "MLSCALE_SKIP_CLUSTER_TESTS"
	// EnvAssets overrides the asset directory (binaries and CRDs).
	EnvAssets = "MLSCALE_K8S_ASSETS"
	// EnvKEDAAssets overrides the directory of the KEDA operator and
	// metrics server binaries.
	EnvKEDAAssets = "MLSCALE_KEDA_ASSETS"

	// buildHint is part of every "binaries missing" failure.
	buildHint = "run `make controlplane` (hack/controlplane.sh) or set " + EnvSkip + "=1"
)

// Binaries that must be present in the asset directory.
var requiredBinaries = []string{"etcd", "kube-apiserver"}

// CRD sub-directories of the asset directory, staged by hack/controlplane.sh.
const (
	kedaCRDDir       = "crds/keda"
	promOperatorCRDs = "crds/prometheus-operator"
	// The eventing.keda.sh CRDs, which the KEDA operator watches.
	kedaEventingCRDDir = "crds/keda-eventing"
)

// kedaOperatorBinary is the file name of the KEDA operator in KEDAAssetsDir.
const kedaOperatorBinary = "keda-operator"

// skipRequested returns the opt-out variable that is set to "1" ("" when
// neither is).
func skipRequested() string {
	for _, v := range []string{EnvSkip, EnvSkipCluster} {
		if os.Getenv(v) == "1" {
			return v
		}
	}
	return ""
}

// AssetsDir returns the directory holding the control-plane binaries and CRDs:
// $MLSCALE_K8S_ASSETS if set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/mlscale/k8s-<KubernetesVersion>, the same
// path hack/controlplane.sh builds into.
func AssetsDir() string { return cacheDir(EnvAssets, "k8s-"+KubernetesVersion) }

// KEDAAssetsDir returns the directory holding the KEDA operator binary:
// $MLSCALE_KEDA_ASSETS if set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/mlscale/keda-<KEDAVersion>, the same path
// hack/controlplane.sh builds into.
func KEDAAssetsDir() string { return cacheDir(EnvKEDAAssets, "keda-"+KEDAVersion) }

// cacheDir is $env if set, else ${XDG_CACHE_HOME:-$HOME/.cache}/mlscale/name
// ("" when neither HOME nor XDG_CACHE_HOME is known).
func cacheDir(env, name string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "mlscale", name)
}

// checkKEDAAssets returns an error naming the missing KEDA operator binary
// (and, with metricsServer, KEDA's metrics server), or the eventing CRD
// directory, with the command that builds them.
func checkKEDAAssets(kedaDir, dir string, metricsServer bool) error {
	if kedaDir == "" {
		return fmt.Errorf("testenv: cannot determine the KEDA operator's directory (set %s or HOME); %s", EnvKEDAAssets, buildHint)
	}
	bins := []string{kedaOperatorBinary}
	if metricsServer {
		bins = append(bins, kedaMetricsServerBinary)
	}
	missing := missingExecutables(kedaDir, bins...)
	missing = append(missing, missingDirs(dir, kedaEventingCRDDir)...)
	if len(missing) > 0 {
		return errors.New("testenv: KEDA operator assets missing:\n\t" + strings.Join(missing, "\n\t") + "\n" + buildHint)
	}
	return nil
}

// checkAssets returns an error naming every missing binary or CRD directory,
// with the command that builds them.
func checkAssets(dir string, needKCM bool) error {
	if dir == "" {
		return fmt.Errorf("testenv: cannot determine the asset directory (set %s or HOME); %s", EnvAssets, buildHint)
	}
	bins := requiredBinaries
	if needKCM {
		bins = append(bins[:len(bins):len(bins)], "kube-controller-manager")
	}
	missing := missingExecutables(dir, bins...)
	missing = append(missing, missingDirs(dir, kedaCRDDir)...)
	if len(missing) > 0 {
		return errors.New("testenv: control plane assets missing:\n\t" + strings.Join(missing, "\n\t") + "\n" + buildHint)
	}
	return nil
}

// missingExecutables names each of bins that is not an executable file in dir.
func missingExecutables(dir string, bins ...string) []string {
	var missing []string
	for _, b := range bins {
		p := filepath.Join(dir, b)
		st, err := os.Stat(p)
		switch {
		case err != nil:
			missing = append(missing, p)
		case st.IsDir() || st.Mode()&0o111 == 0:
			missing = append(missing, p+" (not an executable file)")
		}
	}
	return missing
}

// missingDirs names each of sub that is not a directory in dir (with a
// trailing slash).
func missingDirs(dir string, sub ...string) []string {
	var missing []string
	for _, d := range sub {
		if st, err := os.Stat(filepath.Join(dir, d)); err != nil || !st.IsDir() {
			missing = append(missing, filepath.Join(dir, d)+"/")
		}
	}
	return missing
}
