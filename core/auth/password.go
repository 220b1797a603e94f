package auth

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
)

// Hashing names a password hashing algorithm by its RabbitMQ module name, the
// value of "hashing_algorithm" in a definitions export.
type Hashing string

// Hashing algorithms RabbitMQ ships (docs/passwords.md).
const (
	SHA256 Hashing = "rabbit_password_hashing_sha256" // the default
	SHA512 Hashing = "rabbit_password_hashing_sha512"
	// MD5 is RabbitMQ's legacy algorithm, accepted so that users imported
	// from pre-3.6.0 definitions keep working. Never used for new hashes by
	// default.
	MD5 Hashing = "rabbit_password_hashing_md5"
)

// saltLen is RabbitMQ's salt size: rand:uniform(16#ffffffff) as <<Salt:32>>
// (rabbit_password:generate_salt/0).
const saltLen = 4

// Valid reports whether h is a known algorithm. The empty Hashing is valid and
// means SHA256.
func (h Hashing) Valid() bool { return h.newHash() != nil }

func (h Hashing) newHash() func() hash.Hash {
	switch h {
	case SHA256, "":
		return sha256.New
	case SHA512:
		return sha512.New
	case MD5:
		return md5.New
	}
	return nil
}

// Hash hashes password with h and a fresh random salt, in RabbitMQ's format:
// base64(salt ‖ H(salt ‖ utf8(password))) (rabbit_password:hash/2). It
// panics if h is not Valid, a programming error.
func (h Hashing) Hash(password string) string {
	var salt [saltLen]byte
	_, _ = rand.Read(salt[:]) // crypto/rand.Read never fails (Go 1.24+).
	return base64.StdEncoding.EncodeToString(h.salted(salt, password))
}

// salted returns salt ‖ H(salt ‖ password) (rabbit_password:hash/2 and
// salted_hash/3).
func (h Hashing) salted(salt [saltLen]byte, password string) []byte {
	nh := h.newHash()
	if nh == nil {
		panic("auth: unknown password hashing algorithm " + string(h))
	}
	d := nh()
	d.Write(salt[:])
	d.Write([]byte(password))
	return d.Sum(salt[:])
}

// Check reports whether password matches hash, a base64 value as Hash
// produces it. Like RabbitMQ it refuses a blank password and a hash too short
// to hold a salt (a cleared password); unlike RabbitMQ's =:= it compares in
// constant time.
func (h Hashing) Check(hash, password string) bool {
	nh := h.newHash()
	if nh == nil || password == "" {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(hash)
	if err != nil || len(raw) <= saltLen {
		return false
	}
	var salt [saltLen]byte
	copy(salt[:], raw)
	return subtle.ConstantTimeCompare(raw, h.salted(salt, password)) == 1
}

// HashPassword hashes password with the default algorithm, SHA-256.
func HashPassword(password string) string { return SHA256.Hash(password) }

// CheckPassword checks password against a SHA-256 hash from HashPassword or a
// RabbitMQ export. Use Hashing.Check for the other algorithms.
func CheckPassword(hash, password string) bool { return SHA256.Check(hash, password) }
