// Package pwpolicy is Vault's password policies: an HCL document naming a
// length and "charset" rules (a character set and the least number of its
// characters a password holds), parsed and turned into random passwords.
// The core's sys/policies/password endpoints store and use policies; the
// database engine generates its passwords with Default when its config
// names no policy.
package pwpolicy
