package testenv

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// frontProxyUser is the common name of the client certificate kube-apiserver
// (its aggregator) presents to aggregated API servers.
const frontProxyUser = "front-proxy-client"

// configureFrontProxy gives kube-apiserver a front-proxy CA and client
// certificate, as kubeadm and managed clusters do: the aggregator then
// authenticates to aggregated API servers (KEDA's metrics server) with that
// certificate and passes the caller's identity in X-Remote-* headers, which
// the aggregated server trusts through the requestheader-client-ca-file that
// kube-apiserver publishes in kube-system/extension-apiserver-authentication.
// Without it the proxied requests arrive anonymous and a real adapter's
// delegated authorization forbids them. In-process fake adapters that ask
// for no client certificate are unaffected.
func configureFrontProxy(s *envtest.APIServer, dir string) error {
	if err := writeFrontProxyCerts(dir); err != nil {
		return err
	}
	args := s.Configure()
	args.Set("requestheader-client-ca-file", filepath.Join(dir, "ca.crt"))
	args.Set("requestheader-allowed-names", frontProxyUser)
	args.Set("requestheader-username-headers", "X-Remote-User")
	args.Set("requestheader-group-headers", "X-Remote-Group")
	args.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
	args.Set("proxy-client-cert-file", filepath.Join(dir, "client.crt"))
	args.Set("proxy-client-key-file", filepath.Join(dir, "client.key"))
	return nil
}

// writeFrontProxyCerts writes ca.crt and client.crt/client.key (CN
// front-proxy-client, client auth, signed by the CA) into dir.
func writeFrontProxyCerts(dir string) error {
	caCert, caDER, caKey, err := issue(&x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "front-proxy-ca"},
		IsCA:         true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, nil)
	if err != nil {
		return err
	}
	_, der, key, err := issue(&x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: frontProxyUser},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, caCert, caKey)
	if err != nil {
		return err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	return writeFiles(dir, map[string][]byte{"ca.crt": certPEM(caDER), "client.crt": certPEM(der), "client.key": kp})
}
