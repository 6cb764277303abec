// Package certtest makes throwaway CAs, client certificates and CRLs with
// crypto/x509 for the tests and benchmarks of the cert auth method (the
// method's own tests, the server tests, bench/load). Never for production.
package certtest
