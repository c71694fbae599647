package kit

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Security is kbench's [cluster.security], resolved (the password is the secret itself: it goes
// only to the engine's standard input).
type Security struct {
	Protocol  string `json:"protocol"`
	Mechanism string `json:"mechanism"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	CA        string `json:"ca"`
	Cert      string `json:"cert"`
	Key       string `json:"key"`
}

// UsesTLS: SSL or SASL_SSL.
func (s *Security) UsesTLS() bool {
	return s != nil && (s.Protocol == "SSL" || s.Protocol == "SASL_SSL")
}

// UsesSASL: SASL_PLAINTEXT or SASL_SSL.
func (s *Security) UsesSASL() bool {
	return s != nil && (s.Protocol == "SASL_PLAINTEXT" || s.Protocol == "SASL_SSL")
}

// MechanismError is the refusal of a SASL mechanism the engines do not speak.
func (s *Security) MechanismError() error {
	return fmt.Errorf("cluster.security.mechanism %q: this engine speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512", s.Mechanism)
}

// TLSConfig is the TLS configuration of [cluster.security]: its CA and client certificate.
func (s *Security) TLSConfig() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CA != "" {
		pem, err := os.ReadFile(s.CA)
		if err != nil {
			return nil, fmt.Errorf("cluster.security.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster.security.ca: no PEM certificate in %s", s.CA)
		}
		t.RootCAs = pool
	}
	if s.Cert != "" || s.Key != "" {
		pair, err := tls.LoadX509KeyPair(s.Cert, s.Key)
		if err != nil {
			return nil, fmt.Errorf("cluster.security.cert/key: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}
